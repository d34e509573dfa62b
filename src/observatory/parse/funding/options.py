"""Checks of a funding source's registry options, before any file is read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from observatory.extract.locations import LOCATION_TYPES, resolve_location
from observatory.parse.funding.cells import FIELDS


def check_options(options: Mapping[str, Any], mapping: str) -> None:
    """ValueError for options no file can satisfy (a registry mistake, not a bad file)."""
    columns = options.get(mapping) or {}
    if not columns:
        raise ValueError(f"funding options need a {mapping!r} mapping")
    unknown = set(columns) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown funding_operation columns in options: {sorted(unknown)}")
    if options.get("decimal", "auto") not in (",", ".", "auto"):
        raise ValueError(f"decimal must be ',', '.' or 'auto', not {options['decimal']!r}")
    if options.get("location_type", "city") not in LOCATION_TYPES:
        raise ValueError(f"location_type must be one of {list(LOCATION_TYPES)}, not {options['location_type']!r}")
    if options.get("rate_scale") not in (None, "percent", "fraction"):
        raise ValueError(f"rate_scale must be 'percent' or 'fraction', not {options['rate_scale']!r}")
    default = options.get("default_city")
    if default and resolve_location(str(default), options.get("country_code")) is None:
        raise ValueError(f"default_city {default!r} is not a city the gazetteer knows")
