"""Organisations from ``data/organisations.yml``: ``name`` (canonical), ``acronym`` and ``org_type``."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from observatory.extract.catalogue import Catalogue
from observatory.extract.document import Document
from observatory.extract.facts import Fact, make_fact
from observatory.extract.resources import load_yaml


@lru_cache(maxsize=1)
def organisation_catalogue() -> Catalogue:
    """The organisation list, compiled."""
    entries: list[tuple[list[str], Mapping[str, Any]]] = []
    for entry in load_yaml("organisations.yml"):
        acronym = entry.get("acronym")
        aliases = [entry["name"], *([acronym] if acronym else []), *entry["aliases"]]
        entries.append((aliases, {"name": entry["name"], "acronym": acronym, "org_type": entry["type"]}))
    return Catalogue(entries)


def find_organisations(document: Document) -> list[Fact]:
    """Organisation facts in ``document``."""
    return [
        make_fact(document, "organisation", match.start, match.end, **match.attributes)
        for match in organisation_catalogue().find(document.masked)
    ]
