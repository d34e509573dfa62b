"""The URL of a Eurostat ``collect:`` mapping, per API (options: ``observatory.collect.eurostat``).

Parameters are always written in the same order, so the same entry always names the same resource (the fetch
log, the conditional requests and the mirror index key on it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from observatory.config.registry import RegistryError, expand_env

DEFAULT_BASE_URL = "${EUROSTAT_API_BASE_URL:-https://ec.europa.eu/eurostat/api/dissemination}"
APIS = ("statistics", "sdmx", "sdmx3")
COMMON_OPTIONS = frozenset({"api", "dataset", "base_url", "since", "until", "poll_interval", "max_wait"})
OPTIONS = {
    "statistics": COMMON_OPTIONS | {"filters", "format", "lang"},
    "sdmx": COMMON_OPTIONS | {"key", "format", "compressed"},
    "sdmx3": COMMON_OPTIONS | {"filters", "labels", "lang", "compressed"},
}
SDMX_FORMATS = ("TSV", "SDMX-CSV")
SDMX3_LABELS = ("id", "name", "both")
DATASET_CODE = re.compile(r"^[A-Za-z0-9_$.-]+$")
CODE = re.compile(r"^[A-Za-z0-9_-]+$")
PERIOD = re.compile(r"^[0-9]{4}(-?[A-Z]?[0-9]{1,2})?$")  # 2014, 2014-Q1, 2014-S2, 2014-03, 2014M03, 2014-W05
DEFAULT_POLL_INTERVAL = 5.0
DEFAULT_MAX_WAIT = 900.0


@dataclass(frozen=True)
class Query:
    """One entry's request: the API, its base URL, the data URL and how long to wait for an asynchronous answer."""

    api: str
    base_url: str
    url: str
    poll_interval: float
    max_wait: float


def query(options: Mapping[str, Any], *, where: str) -> Query:
    """The ``Query`` of a ``collect:`` mapping; one ``RegistryError`` naming ``where`` for any mistake."""
    api = str(options.get("api", "statistics"))
    if api not in APIS:
        raise RegistryError(f"{where}: 'api' must be one of {', '.join(APIS)}, not {api!r}")
    unknown = set(options) - OPTIONS[api]
    if unknown:
        known = ", ".join(sorted(OPTIONS[api]))
        raise RegistryError(f"{where}: unknown option {sorted(unknown)[0]!r} for api {api}; known: {known}")
    dataset = str(options.get("dataset") or "")
    if not DATASET_CODE.match(dataset):
        raise RegistryError(f"{where}: 'dataset' must be a Eurostat dataset code, e.g. migr_pop1ctz")
    base = expand_env(str(options.get("base_url", DEFAULT_BASE_URL)), where=f"{where}.base_url").rstrip("/")
    url = BUILDERS[api](base, quote(dataset), options, where)
    return Query(
        api,
        base,
        url,
        _seconds(options, "poll_interval", DEFAULT_POLL_INTERVAL, where, minimum=0.01),
        _seconds(options, "max_wait", DEFAULT_MAX_WAIT, where, minimum=0.0),
    )


def _statistics(base: str, dataset: str, options: Mapping[str, Any], where: str) -> str:
    if str(options.get("format", "JSON")) != "JSON":
        raise RegistryError(
            f"{where}: 'format' of the statistics API is JSON (JSON-stat 2.0), not {options['format']!r}"
        )
    params = [("format", "JSON"), ("lang", str(options.get("lang", "EN")))]
    params += [(dimension, code) for dimension, codes in _filters(options, where) for code in codes]
    params += [(name, value) for name, value in _periods(options, where, ("sinceTimePeriod", "untilTimePeriod"))]
    return f"{base}/statistics/1.0/data/{dataset}?{urlencode(params)}"


def _sdmx(base: str, dataset: str, options: Mapping[str, Any], where: str) -> str:
    data_format = str(options.get("format", "TSV"))
    if data_format not in SDMX_FORMATS:
        raise RegistryError(f"{where}: 'format' of the sdmx API must be one of {', '.join(SDMX_FORMATS)}")
    key = _key(options.get("key"), where)
    path = f"{base}/sdmx/2.1/data/{dataset}" + (f"/{quote(key, safe='+.')}" if key else "")
    params = [("format", data_format), ("compressed", _flag(options, "compressed", where))]
    params += _periods(options, where, ("startPeriod", "endPeriod"))
    return f"{path}?{urlencode(params)}"


def _sdmx3(base: str, dataset: str, options: Mapping[str, Any], where: str) -> str:
    labels = str(options.get("labels", "both"))
    if labels not in SDMX3_LABELS:
        raise RegistryError(f"{where}: 'labels' must be one of {', '.join(SDMX3_LABELS)}")
    params = [(f"c[{dimension}]", ",".join(codes)) for dimension, codes in _filters(options, where)]
    periods = _periods(options, where, ("ge", "le"))
    if periods:
        params.append(("c[TIME_PERIOD]", "+".join(f"{operator}:{period}" for operator, period in periods)))
    params += [
        ("compress", _flag(options, "compressed", where)),
        ("format", "csvdata"),
        ("formatVersion", "2.0"),
        ("lang", str(options.get("lang", "en"))),
        ("labels", labels),
    ]
    return f"{base}/sdmx/3.0/data/dataflow/ESTAT/{dataset}/1.0?{urlencode(params, safe='[]:,+')}"


BUILDERS: dict[str, Callable[[str, str, Mapping[str, Any], str], str]] = {
    "statistics": _statistics,
    "sdmx": _sdmx,
    "sdmx3": _sdmx3,
}


def _filters(options: Mapping[str, Any], where: str) -> list[tuple[str, list[str]]]:
    filters = options.get("filters") or {}
    if not isinstance(filters, Mapping):
        raise RegistryError(f"{where}: 'filters' must map dimensions to a code or a list of codes")
    return [
        (str(dim), [str(c) for c in (codes if isinstance(codes, list) else [codes])]) for dim, codes in filters.items()
    ]


def _key(key: Any, where: str) -> str:
    """The SDMX 2.1 key: a string as given, or a list (one item per dimension, in the dataset's order: a code, a
    list of codes joined with ``+``, or empty for all)."""
    if key is None or isinstance(key, str):
        text = key or ""
    elif isinstance(key, list):
        text = ".".join("+".join(map(str, item)) if isinstance(item, list) else str(item or "") for item in key)
    else:
        raise RegistryError(f"{where}: 'key' must be a string like A.PC.F+M..NAT or a list of codes per dimension")
    if any(code and not CODE.match(code) for part in text.split(".") for code in part.split("+")):
        raise RegistryError(f"{where}: 'key' {text!r} is not dot-separated dimension codes (several joined with +)")
    return text


def _periods(options: Mapping[str, Any], where: str, names: tuple[str, str]) -> list[tuple[str, str]]:
    """(parameter, period) of ``since`` and ``until``, when set."""
    periods = []
    for option, name in zip(("since", "until"), names, strict=True):
        if options.get(option) is not None:
            period = str(options[option])
            if not PERIOD.match(period):
                raise RegistryError(f"{where}: {option!r} must be a time period like 2014 or 2014-Q1, not {period!r}")
            periods.append((name, period))
    return periods


def _flag(options: Mapping[str, Any], option: str, where: str) -> str:
    value = options.get(option, True)
    if not isinstance(value, bool):
        raise RegistryError(f"{where}: {option!r} must be true or false")
    return "true" if value else "false"


def _seconds(options: Mapping[str, Any], option: str, default: float, where: str, *, minimum: float) -> float:
    value = options.get(option, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise RegistryError(f"{where}: {option!r} must be a number of seconds (at least {minimum:g})")
    return float(value)
