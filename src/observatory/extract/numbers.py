"""Numbers in digits or words, scale words and qualifiers, shared by money, shares and counts."""

from __future__ import annotations

import re
from decimal import Decimal

# 1,500,000.5 | 1.500.000,5 | 1 500 000 (no-break or thin spaces) | 2.5 | 2,5 | 180 -- never part of a
# longer run of digits and separators such as an IP address or a version number.
NUMBER = (
    r"(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d{1,3}(?:\.\d{3}){2,}(?:,\d+)?"
    r"|\d{1,3}(?:[\u00a0\u202f]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?)(?![.,]?\d)"
)
SCALE_WORDS = {
    "thousand": 10**3,
    "million": 10**6,
    "billion": 10**9,
    "trillion": 10**12,
    "mn": 10**6,
    "mln": 10**6,
    "mio": 10**6,
    "bn": 10**9,
    "bln": 10**9,
    "miljoen": 10**6,
    "miljard": 10**9,
    "millionen": 10**6,
    "milliarden": 10**9,
    "mrd": 10**9,
}
SCALE = (
    r"(?:thousand|million|billion|trillion|miljoen|miljard|millionen|milliarden|mln|mn|mio\.?|mrd\.?|bln|bn)"
    r"(?![A-Za-z])"
)
# "1.2m", "12k": a one-letter scale written right after the digits (never after a space: "5 m" is metres).
SHORT_SCALE = r"[mMkK](?![^\W\d_])"
# Above this a number read from a text is not a quantity (a run of digits, an identifier): no fact is made.
MAX_VALUE = Decimal(10) ** 15
_MAX_DIGITS = 40  # longer digit strings are not read at all (and never reach Decimal arithmetic)

_UNITS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_TEENS = [
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
WORD_VALUES = (
    {word: index + 1 for index, word in enumerate(_UNITS)}
    | {word: index + 10 for index, word in enumerate(_TEENS)}
    | {word: (index + 2) * 10 for index, word in enumerate(_TENS)}
    | {"a hundred": 100, "one hundred": 100, "a thousand": 1000, "a dozen": 12}
)
WORD_NUMBER = (
    rf"(?:(?:{'|'.join(_TENS)})(?:[- ](?:{'|'.join(_UNITS)}))?|{'|'.join(_TEENS)}|{'|'.join(_UNITS[1:])}"
    r"|a hundred|one hundred|a thousand|a dozen)(?![A-Za-z-])"
)

_QUALIFIERS = {
    "more than": "more than",
    "over": "over",
    "above": "above",
    "in excess of": "more than",
    "at least": "at least",
    "no fewer than": "at least",
    "no less than": "at least",
    "a minimum of": "minimum",
    "minimum of": "minimum",
    "minimum": "minimum",
    "a maximum of": "maximum",
    "maximum of": "maximum",
    "maximum": "maximum",
    "at most": "at most",
    "up to": "up to",
    "fewer than": "fewer than",
    "less than": "less than",
    "nearly": "nearly",
    "almost": "almost",
    "close to": "nearly",
    "about": "about",
    "around": "about",
    "approximately": "about",
    "roughly": "about",
    "some": "about",
    "circa": "about",
    "c.": "about",
    "an estimated": "estimated",
    "estimated": "estimated",
}
_QUALIFIER_BEFORE = re.compile(
    r"(?<![\w-])(?P<q>" + "|".join(sorted(map(re.escape, _QUALIFIERS), key=len, reverse=True)) + r")\s+$",
    re.IGNORECASE,
)


_IRREGULAR_PLURALS = frozenset(
    [
        "people",
        "children",
        "women",
        "men",
        "staff",
        "personnel",
        "youth",
        "police",
        "alumni",
        "criteria",
        "media",
        "data",
    ]
)
_NOT_PLURAL = ("ss", "us", "is", "ics", "ws")


def is_plural(word: str) -> bool:
    """Whether ``word`` looks like a plural noun ("delegates", "cities", "people")."""
    lower = word.lower()
    return lower in _IRREGULAR_PLURALS or (lower.endswith("s") and not lower.endswith(_NOT_PLURAL) and len(lower) > 2)


def parse_number(text: str, *, scaled: bool = False) -> Decimal | None:
    """The value of a digit string: thousands separators and decimal point or comma resolved.

    One dot before exactly three digits groups thousands ("25.000" = 25000, as most of continental Europe
    writes it) unless a scale word follows (``scaled``: "1.125 million"). A string too long to be a
    quantity (over 40 digits), or not a number at all, gives None.
    """
    digits = re.sub(r"[\s\u00a0\u202f']", "", text)
    if not digits or len(digits) > _MAX_DIGITS:
        return None
    if not scaled and re.fullmatch(r"[1-9]\d{0,2}\.\d{3}", digits):
        return Decimal(digits.replace(".", ""))
    if "," in digits and "." in digits:
        decimal_mark = "," if digits.rfind(",") > digits.rfind(".") else "."
        thousands = "." if decimal_mark == "," else ","
        digits = digits.replace(thousands, "").replace(decimal_mark, ".")
    elif "," in digits:
        digits = digits.replace(",", "") if re.fullmatch(r"\d{1,3}(?:,\d{3})+", digits) else digits.replace(",", ".")
    elif re.fullmatch(r"\d{1,3}(?:\.\d{3}){2,}", digits):
        digits = digits.replace(".", "")
    try:
        return Decimal(digits)
    except ArithmeticError:  # decimal.InvalidOperation: not a number after all
        return None


def word_value(text: str) -> int:
    """The value of a number word: "forty-five" → 45, "a dozen" → 12."""
    words = re.split(r"[- ]", text.lower(), maxsplit=1)
    if text.lower() in WORD_VALUES:
        return WORD_VALUES[text.lower()]
    return sum(WORD_VALUES.get(word, 0) for word in words)


def scale_value(text: str | None) -> int:
    """The multiplier of a scale word ("million" → 10**6, "m" → 10**6, "k" → 10**3); 1 for none (or unknown)."""
    if not text:
        return 1
    word = text.rstrip(".").lower()
    return {"m": 10**6, "k": 10**3}.get(word) or SCALE_WORDS.get(word, 1)


def quantity(value: Decimal | None, scale: str | None = None) -> Decimal | None:
    """``value`` times the multiplier of ``scale``; None when there is no value or it is no plausible
    quantity (not finite, or beyond :data:`MAX_VALUE`)."""
    if value is None or not value.is_finite() or abs(value) > MAX_VALUE:
        return None
    result = value * scale_value(scale)
    return result if abs(result) <= MAX_VALUE else None


def json_number(value: Decimal) -> int | float:
    """``value`` as a JSON number: an int when whole (and within 64 bits), else a float."""
    if value.is_finite() and value == value.to_integral_value() and abs(value) < 2**63:
        return int(value)
    return float(value)


def qualifier_before(text: str, offset: int) -> tuple[int, str] | None:
    """(start, normalised qualifier) of a qualifier ending right before ``offset`` ("more than 45")."""
    match = _QUALIFIER_BEFORE.search(text, max(0, offset - 30), offset)
    if not match:
        return None
    return match.start("q"), _QUALIFIERS[match["q"].lower()]
