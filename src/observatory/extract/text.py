"""Character-level helpers shared by the extractors."""

from __future__ import annotations

import unicodedata

_SPECIAL_LETTERS = str.maketrans(
    {
        "ß": "ss",
        "ø": "o",
        "Ø": "O",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "ı": "i",
        "þ": "th",
        "ð": "d",
        "’": "'",
        "‘": "'",
        "–": "-",
        "—": "-",
    }
)


def fold(text: str) -> str:
    """``text`` in ASCII: diacritics dropped (Malmö → Malmo, Straße → Strasse), non-Latin letters too."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text.translate(_SPECIAL_LETTERS))
    return decomposed.encode("ascii", "ignore").decode("ascii")
