"""Eurostat Statistics API: one dataset, filtered, as JSON-stat 2.0; one resource per source.

    collector: eurostat
    collect:
      dataset: migr_pop1ctz                       # required
      filters: {geo: FR, citizen: [MA, PT], sex: T}   # any dimension; a list repeats the parameter
      since: "2014"                               # sinceTimePeriod (optional)
      until: "2023"                               # untilTimePeriod (optional)
      format: JSON                                # default (JSON-stat 2.0)
      lang: EN                                    # default
      base_url: ...                               # default ${EUROSTAT_API_BASE_URL:-https://ec.europa.eu/eurostat/api/dissemination}

The URL is ``{base_url}/statistics/1.0/data/{dataset}?format=..&lang=..&<filters>&sinceTimePeriod=..``,
parameters in a stable order, so the same entry always names the same resource. Requests are conditional:
``If-None-Match`` / ``If-Modified-Since`` carry the validators of the last successful fetch of that URL
(``audit.fetch_log``), and a ``304 Not Modified`` comes back as a ``Fetched`` with that status and no
payload, which the landing zone resolves to the content it already holds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlencode

import requests

from observatory.collect import Fetched
from observatory.collect.http import fetch_url, http_session
from observatory.config.registry import RegistryError, expand_env
from observatory.landing import last_fetch
from observatory.warehouse import connection

INCREMENTAL = True  # the pipeline skips a batch whose content is the one already published
DEFAULT_BASE_URL = "${EUROSTAT_API_BASE_URL:-https://ec.europa.eu/eurostat/api/dissemination}"
OPTIONS = frozenset({"dataset", "filters", "since", "until", "format", "lang", "base_url"})
DATASET_CODE = re.compile(r"^[A-Za-z0-9_$.-]+$")

Validators = tuple[str | None, str | None]  # (ETag, Last-Modified) of an earlier fetch


def collect(source) -> Iterator[tuple[str, Callable[[], Fetched]]]:
    """The source's one dataset URL and a conditional GET of it."""
    url = dataset_url(source.collect, where=f"source {source.source_id!r}, field 'collect'")
    with http_session() as session:
        yield url, lambda: fetch_dataset(session, url, last_validators(source.source_id, url))


def dataset_url(options: Mapping[str, Any], *, where: str) -> str:
    """The Statistics API URL of the dataset and filters that ``options`` (a ``collect:`` mapping) name."""
    unknown = set(options) - OPTIONS
    if unknown:
        raise RegistryError(f"{where}: unknown option {sorted(unknown)[0]!r}; known: {', '.join(sorted(OPTIONS))}")
    dataset = str(options.get("dataset") or "")
    if not DATASET_CODE.match(dataset):
        raise RegistryError(f"{where}: 'dataset' must be a Eurostat dataset code, e.g. migr_pop1ctz")
    filters = options.get("filters") or {}
    if not isinstance(filters, Mapping):
        raise RegistryError(f"{where}: 'filters' must map dimensions to a code or a list of codes")
    params = [("format", str(options.get("format", "JSON"))), ("lang", str(options.get("lang", "EN")))]
    for dimension, codes in filters.items():
        params += [(str(dimension), str(code)) for code in (codes if isinstance(codes, list) else [codes])]
    for option, parameter in (("since", "sinceTimePeriod"), ("until", "untilTimePeriod")):
        if options.get(option) is not None:
            params.append((parameter, str(options[option])))
    base = expand_env(str(options.get("base_url", DEFAULT_BASE_URL)), where=f"{where}.base_url").rstrip("/")
    return f"{base}/statistics/1.0/data/{quote(dataset)}?{urlencode(params)}"


def fetch_dataset(session: requests.Session, url: str, validators: Validators | None) -> Fetched:
    """GET ``url``, conditionally when ``validators`` of an earlier fetch are known (``fetch_url`` takes no
    headers, so the source's own session carries them)."""
    etag, last_modified = validators or (None, None)
    for header, value in (("If-None-Match", etag), ("If-Modified-Since", last_modified)):
        if value:
            session.headers[header] = value
        else:
            session.headers.pop(header, None)
    return fetch_url(session, url)


def last_validators(source_id: str, url: str) -> Validators | None:
    """ETag and Last-Modified of the last successful fetch of ``url`` for the source, if any."""
    with connection.connect() as conn:
        previous = last_fetch(conn, source_id, url)
    return None if previous is None else (previous.etag, previous.last_modified)
