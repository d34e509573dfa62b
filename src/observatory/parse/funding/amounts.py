"""Amount cells: their currency, their number under a decimal mark, cents, and the decimal mark of a whole column."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from observatory.parse import Note
from observatory.parse.funding.cells import SPACES, CellError, shown

CURRENCY_SYMBOLS = {"€": "EUR", "£": "GBP", "$": "USD"}
# a currency written before or after an amount → ISO 4217 (None: the source's ``currency``)
CURRENCY_TOKENS: dict[str, str | None] = {
    **CURRENCY_SYMBOLS,
    "eur": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "gbp": "GBP",
    "usd": "USD",
    "kn": "HRK",
    "hrk": "HRK",
    "kuna": "HRK",
    "kune": "HRK",
    "kč": "CZK",
    "czk": "CZK",
    "zł": "PLN",
    "pln": "PLN",
    "ft": "HUF",
    "huf": "HUF",
    "lei": "RON",
    "ron": "RON",
    "лв": "BGN",
    "лв.": "BGN",
    "bgn": "BGN",
    "sek": "SEK",
    "dkk": "DKK",
    "nok": "NOK",
    "chf": "CHF",
    "kr": None,
    "kr.": None,
}
DECIMAL_POINT_COUNTRIES = frozenset({"GB", "IE", "MT"})
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal(10) ** 16  # funding_operation.amount is numeric(18,2)
_NUMBER = re.compile(r"-?[0-9][0-9.,]*")
_NO_CENTS = re.compile(r"(?<=[0-9])[.,][-–—]+$")  # "81.839,00.-", "1.234,-"
_APOSTROPHE_GROUPS = re.compile(r"-?[0-9]{1,3}(?:['’][0-9]{3})+(?:[.,][0-9]+)?")
_TOKENS = "|".join(re.escape(t) for t in sorted(CURRENCY_TOKENS, key=len, reverse=True))
_CURRENCY_HEAD = re.compile(rf"^(?P<cur>{_TOKENS})(?![^\W\d_])\s*", re.IGNORECASE)
_CURRENCY_TAIL = re.compile(rf"(?<![^\W\d_])\s*(?P<cur>{_TOKENS})$", re.IGNORECASE)


def decide_decimal(cells: list[str], options: Mapping[str, Any]) -> tuple[str, Note | None]:
    """The decimal mark of an amount column (the ``decimal`` option, else the mark that reads more of its cells)
    and the note saying so when it was inferred from the cells."""
    configured = options.get("decimal", "auto")
    if configured != "auto":
        return str(configured), None
    votes: Counter[str] = Counter()
    either = 0
    for cell in cells:
        try:
            text, _ = amount_parts(cell)
        except CellError:
            continue
        fits = [mark for mark in (",", ".") if _fits(text, mark)]
        if len(fits) == 1:
            votes[fits[0]] += 1
        elif fits:
            either += 1
    country = str(options.get("country_code") or "").upper()
    currency = str(options.get("currency") or "").upper()
    default = "." if country in DECIMAL_POINT_COUNTRIES or (not country and currency in ("GBP", "USD")) else ","
    if not votes:
        return default, None
    if votes[","] == votes["."]:
        mark, basis = default, f"{votes[',']} cell(s) each way, so the default for country {country or '?'}"
    else:
        mark = "," if votes[","] > votes["."] else "."
        basis = f"{votes[mark]} cell(s) read only so, {votes[_other(mark)]} only the other way, {either} either way"
    style = "decimal comma, '.' groups thousands" if mark == "," else "decimal point, ',' groups thousands"
    return mark, Note(
        "column amount", f"{style} (from the whole column: {basis}); a cell that does not fit is rejected"
    )


def read_amount(cell: str, decimal: str, options: Mapping[str, Any]) -> tuple[Decimal, str | None]:
    """(amount in cents, currency) of an amount cell in a column whose decimal mark is ``decimal``; CellError when
    it does not read."""
    text, currency = amount_parts(cell)
    inferred = options.get("decimal", "auto") == "auto"
    if inferred and not _fits(text, decimal) and _NUMBER.fullmatch(text):
        mark = "comma" if decimal == "," else "point"
        raise CellError(f"does not fit the column's decimal {mark} ({_why_not(text, decimal)})")
    try:
        value = parse_number(text, decimal)
    except ValueError as exc:
        raise CellError(str(exc)) from exc
    return cents(value), currency or options.get("currency")


def amount_parts(cell: str) -> tuple[str, str | None]:
    """The number text of an amount cell and the currency it names: ``'5.172.338,50 kn'`` → ``('5.172.338,50',
    'HRK')``, ``'81.839,00.- €'`` → ``('81.839,00', 'EUR')``; CellError when it names several currencies."""
    text, codes = cell.strip(), set()
    while True:
        match = _CURRENCY_HEAD.match(text) or _CURRENCY_TAIL.search(text)
        if not match or match.end() - match.start() == len(text):
            break
        code = CURRENCY_TOKENS[match.group("cur").casefold()]
        if code:
            codes.add(code)
        text = (text[: match.start()] + text[match.end() :]).strip()
    if len(codes) > 1:
        raise CellError("several currencies")
    number = _NO_CENTS.sub("", SPACES.sub("", text).replace("−", "-"))
    if _APOSTROPHE_GROUPS.fullmatch(number):
        number = number.replace("'", "").replace("’", "")
    return number, codes.pop() if codes else None


def parse_number(text: str, decimal: str) -> Decimal:
    """Read a number written with ``decimal`` as decimal mark (the other of ``.``/``,`` groups thousands).

    With ``decimal='auto'`` the mark is chosen for this one cell (files decide per column, see the module
    docstring): when both ``.`` and ``,`` occur the last one is the mark; a separator occurring more than once
    groups thousands; a single separator followed by 1-2 digits is the mark, followed by exactly 3 digits it
    groups thousands (amounts are published to the cent at most, so ``191.000`` is 191000). Anything else is
    an error.
    """
    if not _NUMBER.fullmatch(text):
        raise ValueError(f"not an amount: {shown(text)}")
    mark = _decimal_mark(text) if decimal == "auto" else decimal
    if mark not in (",", "."):
        raise ValueError(f"decimal must be ',', '.' or 'auto', not {decimal!r}")
    group = _other(mark)
    whole, _, fraction = text.partition(mark)
    sign = "-" if whole.startswith("-") else ""
    groups = whole.lstrip("-").split(group)
    if mark in fraction or group in fraction or not _valid_grouping(groups) or (mark in text and not fraction):
        raise ValueError(f"bad digit grouping in {shown(text)} (decimal mark {mark!r})")
    return Decimal(f"{sign}{''.join(groups)}.{fraction or '0'}")


def cents(value: Decimal) -> Decimal:
    """An amount rounded to cents; CellError when it is no finite number or too large for ``numeric(18,2)``."""
    if not value.is_finite() or abs(value) >= MAX_AMOUNT:
        raise CellError(f"not an amount the warehouse can hold (at most 16 digits before the decimal mark): {value}")
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _fits(text: str, mark: str) -> bool:
    """Whether an amount reads with ``mark`` as decimal mark and at most two decimals."""
    try:
        parse_number(text, mark)
    except ValueError:
        return False
    return mark not in text or len(text) - text.rindex(mark) - 1 <= 2


def _why_not(text: str, mark: str) -> str:
    if mark in text and len(text) - text.rindex(mark) - 1 > 2:
        return f"{len(text) - text.rindex(mark) - 1} decimals"
    return f"{_other(mark)!r} groups thousands there"


def _decimal_mark(text: str) -> str:
    """The decimal mark of one cell under the ``auto`` rule."""
    dots, commas = text.count("."), text.count(",")
    if dots and commas:
        return "." if text.rfind(".") > text.rfind(",") else ","
    separator = "." if dots else ","
    if dots + commas == 0 or dots + commas > 1:
        return _other(separator)
    digits_after = len(text) - text.index(separator) - 1
    if digits_after in (1, 2):
        return separator
    if digits_after == 3:
        return _other(separator)
    raise ValueError(f"ambiguous separator in {shown(text)}")


def _valid_grouping(groups: Sequence[str]) -> bool:
    head, *rest = groups
    if not head.isdigit() or (rest and (len(head) > 3 or head.startswith("0"))):
        return False
    return all(len(g) == 3 and g.isdigit() for g in rest)


def _other(mark: str) -> str:
    return "." if mark == "," else ","
