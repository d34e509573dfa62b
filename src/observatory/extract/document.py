"""The text being analysed: original text, its markup-free twin and its sentences."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from observatory.extract.markup import mask_markup
from observatory.extract.sentences import split_sentences


@dataclass(frozen=True)
class Document:
    """``text`` as given; ``masked`` has markup blanked (same length); ``sentences`` are (start, end)."""

    text: str
    masked: str
    sentences: tuple[tuple[int, int], ...]
    _starts: tuple[int, ...] = field(repr=False)

    @classmethod
    def from_text(cls, text: str) -> Document:
        masked = mask_markup(text)
        sentences = tuple(split_sentences(masked))
        return cls(text, masked, sentences, tuple(start for start, _ in sentences))

    def sentence_index(self, offset: int) -> int:
        """Index of the sentence containing ``offset`` (or the last one starting before it)."""
        return max(bisect.bisect_right(self._starts, offset) - 1, 0)

    def sentence_span(self, offset: int) -> tuple[int, int]:
        """(start, end) of the sentence containing ``offset``."""
        if not self.sentences:
            return 0, len(self.text)
        return self.sentences[self.sentence_index(offset)]

    def sentence_text(self, start: int, end: int | None = None) -> str:
        """Original text of the sentence(s) covering ``start`` .. ``end``."""
        first = self.sentence_span(start)
        last = self.sentence_span(max((end or start) - 1, start))
        return self.text[min(first[0], start) : max(last[1], end or start)]

    def line_span(self, offset: int) -> tuple[int, int]:
        """(start, end) of the line containing ``offset``, without the newline."""
        start = self.text.rfind("\n", 0, offset) + 1
        end = self.text.find("\n", offset)
        return start, len(self.text) if end < 0 else end
