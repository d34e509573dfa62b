"""The extracted fact and its JSON record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from observatory.extract.document import Document

KINDS = ("city", "date", "event", "money", "share", "count", "programme", "organisation")
_RESERVED = frozenset({"doc", "kind", "text", "start", "end", "sentence"})


@dataclass(frozen=True)
class Fact:
    """One fact found in a text: ``text`` is ``source[start:end]``; ``sentence`` is where it was said.

    ``attributes`` holds the kind-specific values (JSON-serialisable), e.g. ``name``,
    ``country_code`` and ``geonames_id`` for a city.
    """

    kind: str
    text: str
    start: int
    end: int
    sentence: str
    attributes: dict[str, Any] = field(default_factory=dict, hash=False)

    def to_record(self, doc: str | None) -> dict[str, Any]:
        """The JSON Lines object: ``doc``, ``kind``, ``text``, ``start``, ``end``, ``sentence``, attributes."""
        record: dict[str, Any] = {
            "doc": doc,
            "kind": self.kind,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "sentence": self.sentence,
        }
        record.update(self.attributes)
        return record


def make_fact(document: Document, kind: str, start: int, end: int, **attributes: Any) -> Fact:
    """A fact for ``document.text[start:end]`` with the sentence it lies in."""
    if kind not in KINDS:
        raise ValueError(f"unknown fact kind {kind!r}")
    clash = _RESERVED.intersection(attributes)
    if clash:
        raise ValueError(f"attribute names clash with record fields: {sorted(clash)}")
    return Fact(kind, document.text[start:end], start, end, document.sentence_text(start, end), attributes)


def overlaps(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    """Whether [start, end) overlaps any of ``spans``."""
    return any(start < other_end and other_start < end for other_start, other_end in spans)
