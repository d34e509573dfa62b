"""EU funding programmes from ``data/programmes.yml``: ``code`` (AMIF, ESF+, EaSI, ...) and ``name``."""

from __future__ import annotations

from functools import lru_cache

from observatory.extract.catalogue import Catalogue
from observatory.extract.document import Document
from observatory.extract.facts import Fact, make_fact
from observatory.extract.resources import load_yaml


@lru_cache(maxsize=1)
def programme_catalogue() -> Catalogue:
    """The programme list, compiled."""
    return Catalogue(
        [
            ([entry["name"], *entry["aliases"]], {"code": entry["code"], "name": entry["name"]})
            for entry in load_yaml("programmes.yml")
        ]
    )


def find_programmes(document: Document) -> list[Fact]:
    """Programme facts in ``document``."""
    return [
        make_fact(document, "programme", match.start, match.end, **match.attributes)
        for match in programme_catalogue().find(document.masked)
    ]
