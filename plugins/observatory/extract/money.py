"""Amounts of money: "€200 million" → amount 200000000, currency EUR.

``amount`` is a JSON number (an int when whole, else a float) in units of ``currency`` (ISO 4217);
thousands may be grouped with commas, dots or spaces ("1 200 EUR"), decimals marked by a point or comma;
``qualifier`` is set for "up to €5 million", "more than EUR 2 billion" and the like.
"""

from __future__ import annotations

import re

from observatory.extract.document import Document
from observatory.extract.facts import Fact, make_fact
from observatory.extract.numbers import (
    NUMBER,
    SCALE,
    json_number,
    parse_number,
    qualifier_before,
    scale_value,
)

_SYMBOLS = {"€": "EUR", "£": "GBP", "$": "USD", "US$": "USD"}
_CODES = [
    "EUR",
    "USD",
    "GBP",
    "CHF",
    "SEK",
    "DKK",
    "NOK",
    "PLN",
    "CZK",
    "HUF",
    "RON",
    "BGN",
    "TRY",
    "MAD",
    "TND",
    "EGP",
    "JOD",
    "LBP",
    "JPY",
    "CAD",
    "AUD",
]
_WORDS = {
    "euro": "EUR",
    "euros": "EUR",
    "us dollars": "USD",
    "dollars": "USD",
    "pounds sterling": "GBP",
    "pounds": "GBP",
    "swiss francs": "CHF",
}
_CURRENCY_BEFORE = rf"(?P<cur>US\$|[€£$]|\b(?:{'|'.join(_CODES)})\b)"
_CURRENCY_AFTER = rf"(?P<cur>€|\b(?:{'|'.join(_CODES)})\b|\b(?i:{'|'.join(_WORDS)})\b)(?![\w-])"
_AMOUNT = (
    rf"(?P<num>\d{{1,3}}(?: \d{{3}})+(?![\d.,])|{NUMBER})(?:\s?(?P<scale>(?i:{SCALE})|[mk](?![A-Za-z])))?"
)
_PATTERNS = (
    re.compile(rf"{_CURRENCY_BEFORE}\s?{_AMOUNT}"),
    re.compile(rf"(?<![\w.,]){_AMOUNT}\s?{_CURRENCY_AFTER}"),
)


def _currency(text: str) -> str:
    return _SYMBOLS.get(text) or _WORDS.get(text.lower()) or text.upper()


def find_money(document: Document) -> list[Fact]:
    """Money facts in ``document``."""
    facts: list[Fact] = []
    taken: list[tuple[int, int]] = []
    for pattern in _PATTERNS:
        for match in pattern.finditer(document.masked):
            if any(match.start() < end and start < match.end() for start, end in taken):
                continue
            start = match.start()
            qualifier = qualifier_before(document.masked, start)
            if qualifier:
                start = qualifier[0]
            amount = parse_number(match["num"]) * scale_value(match["scale"])
            taken.append((match.start(), match.end()))
            facts.append(
                make_fact(
                    document,
                    "money",
                    start,
                    match.end(),
                    amount=json_number(amount),
                    currency=_currency(match["cur"]),
                    qualifier=qualifier[1] if qualifier else None,
                )
            )
    return sorted(facts, key=lambda fact: fact.start)
