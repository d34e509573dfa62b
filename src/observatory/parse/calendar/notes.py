"""The parser's notes: one said for many VEVENTs is given once, with a count and examples."""

from __future__ import annotations

from collections.abc import Iterator

from observatory.parse import Note


class Notes:
    """Notes, the same one for many records said once with a count and examples."""

    def __init__(self) -> None:
        self.single: list[Note] = []
        self.grouped: dict[str, list[str]] = {}

    def add(self, note: str, where: str) -> None:
        wheres = self.grouped.setdefault(note, [])
        if where not in wheres:
            wheres.append(where)

    def __iter__(self) -> Iterator[Note]:
        yield from self.single
        for note, wheres in self.grouped.items():
            if len(wheres) == 1:
                yield Note(wheres[0], note)
            else:
                more = ", ..." if len(wheres) > 3 else ""
                yield Note("file", f"{note}: {len(wheres)} VEVENTs ({'; '.join(wheres[:3])}{more})")
