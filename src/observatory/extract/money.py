"""Amounts of money: "€200 million" → amount 200000000, currency EUR.

``amount`` is a JSON number (an int when whole, else a float) in units of ``currency`` (ISO 4217: a
symbol, a code or a currency word); thousands may be grouped with commas, dots or spaces ("1 200 EUR",
"€ 25.000"), decimals marked by a point or comma;
``qualifier`` is set for "up to €5 million", "more than EUR 2 billion" and the like.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pycountry

from observatory.extract.document import Document
from observatory.extract.facts import Fact, make_fact
from observatory.extract.numbers import (
    NUMBER,
    SCALE,
    json_number,
    parse_number,
    qualifier_before,
    quantity,
)
from observatory.extract.resources import english_words

_SYMBOLS = {"€": "EUR", "£": "GBP", "$": "USD", "US$": "USD"}
_WORDS = {
    "euro": "EUR",
    "euros": "EUR",
    "us dollars": "USD",
    "dollars": "USD",
    "pounds sterling": "GBP",
    "pounds": "GBP",
    "swiss francs": "CHF",
}
# Codes that ISO 4217 withdrew when the euro replaced them; reports about past funding still use them.
_WITHDRAWN_CODES = ("HRK", "LTL", "LVL", "EEK", "SKK", "SIT", "CYP", "MTL")
_AMOUNT = rf"(?P<num>\d{{1,3}}(?: \d{{3}})+(?!\d|[.,]\d)|{NUMBER})(?:\s?(?P<scale>(?i:{SCALE})|[mk](?![A-Za-z])))?"


@lru_cache(maxsize=1)
def _patterns() -> tuple[re.Pattern[str], ...]:
    """Amount after a symbol or ISO 4217 code, and amount before one (codes that are words, ALL, TOP, are not)."""
    codes = sorted(
        {currency.alpha_3 for currency in pycountry.currencies if currency.alpha_3.lower() not in english_words()}
        | set(_WITHDRAWN_CODES)
    )
    before = rf"(?P<cur>US\$|[€£$]|\b(?:{'|'.join(codes)})\b)"
    after = rf"(?P<cur>€|\b(?:{'|'.join(codes)})\b|\b(?i:{'|'.join(_WORDS)})\b)(?![\w-])"
    return (
        re.compile(rf"{before}\s?{_AMOUNT}"),
        re.compile(rf"(?<![\w.,]){_AMOUNT}\s?{after}"),
    )


def _currency(text: str) -> str:
    return _SYMBOLS.get(text) or _WORDS.get(text.lower()) or text.upper()


def find_money(document: Document) -> list[Fact]:
    """Money facts in ``document``."""
    facts: list[Fact] = []
    taken: list[tuple[int, int]] = []
    for pattern in _patterns():
        for match in pattern.finditer(document.masked):
            if any(match.start() < end and start < match.end() for start, end in taken):
                continue
            amount = quantity(parse_number(match["num"], scaled=bool(match["scale"])), match["scale"])
            if amount is None:
                continue
            start = match.start()
            qualifier = qualifier_before(document.masked, start)
            if qualifier:
                start = qualifier[0]
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
