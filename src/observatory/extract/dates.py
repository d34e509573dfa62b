"""Dates and periods: full dates, month-year, quarters, ranges of days, months or years, years, and a
month named alone after a preposition ("in September").

Month names are English (also in capitals: "7 FEBRUARY"), or Dutch, German or French as those languages
write them ("18 mei 2015", "3. März 2020" is not matched but "3 März 2020" is, "1er avril" is not). A year
may follow a month and day without a comma ("Aug 25th 2020"), and may be glued to a capitalised word, a
dateline that lost its line break ("Aug 25th 2020BERLIN" is 2020-08-25; "2020s" and "2020Q1" are no dates).
A year before a plural noun is a count ("2000 delegates") unless a preposition or, for a year that is not
a round hundred, a determiner comes first ("in 2019 elections", "the 2019 elections").

Each date fact has ``start_date`` and ``end_date`` (ISO) and a ``precision`` (day, month, quarter,
year); a range of days may also be written "6/7 February". A date written without its year ("21-22 May")
gets the document's year, one less when its sentence reports a past event ("On 15 October ... was
launched") that would otherwise fall after the document's first dated mention; every mention of the same
day and month shares the year so found.
The document's year is ``document_year`` when given (a calendar year), else that of the first full date
written with its year, else the commonest year mentioned; with none, dates without a year are dropped, as
is a day that the year found does not have ("29 February" of 2021).
"Wednesday 10" is read as the tenth of the most recently mentioned month when the weekday agrees.
``year_inferred`` tells which dates got their year this way.
"""

from __future__ import annotations

import calendar
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date

from observatory.extract.document import Document
from observatory.extract.facts import Fact, make_fact

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
} | {  # Dutch, German and French names that differ from the English ones (compared in lower case)
    "januari": 1, "februari": 2, "maart": 3, "mei": 5, "juni": 6, "juli": 7, "augustus": 8, "oktober": 10,
    "januar": 1, "februar": 2, "märz": 3, "mai": 5, "dezember": 12,
    "janvier": 1, "février": 2, "mars": 3, "avril": 4, "juin": 6, "juillet": 7, "août": 8,
    "septembre": 9, "octobre": 10, "novembre": 11, "décembre": 12,
}  # fmt: skip
_WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WEEKDAYS = {name: number for number, name in enumerate(_WEEKDAY_NAMES)} | {
    name[:3]: number for number, name in enumerate(_WEEKDAY_NAMES)
}
_ORDINAL_QUARTERS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4}

_FULL_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December)"
_M = (
    rf"(?:{_FULL_MONTH}|(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?"
    r"|januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december"
    r"|Januar|Februar|März|Mai|Juni|Juli|Oktober|Dezember"
    r"|janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre"
    r"|JANUARY|FEBRUARY|MARCH|APRIL|MAY|JUNE|JULY|AUGUST|SEPTEMBER|OCTOBER|NOVEMBER|DECEMBER)(?![^\W\d_])"
)
_WD = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|Mon|Tue|Wed|Thu|Fri|Sat|Sun)\.?"
_OPT_WD = rf"(?:{_WD},?\s+)?"
_D = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?(?!\d)"
_Y = r"(?:19|20)\d{2}(?!\d)"
_TO = r"\s*(?:-|–|—|to|until|till)\s*"
_START = r"(?<![\w.,/€$£-])"
# A date ends before a non-word character, or, right after its year, before a capitalised word glued to it:
# a dateline whose line break was lost ("Aug 25th 2020BERLIN"). Never before "2020s" or "2020Q1".
_END = r"(?:(?![\w%]|[.,]\d)|(?<=\d{4})(?=[A-Z][^\W\d_]+(?![\d_])))"

_PAST = re.compile(
    r"\b(?:was|were|met|adopted|launched|held|took|hosted|signed|approved|presented|discussed|gathered|"
    r"visited|had|did|agreed|decided|published|concluded|ended|started|began|organised|organized)\b"
)
_FUTURE = re.compile(
    r"\b(?:will|shall|next|upcoming|forthcoming|until|scheduled|planned|apply|deadline|is to|are to)\b",
    re.IGNORECASE,
)
_YEAR_PREPOSITION = re.compile(
    r"\b(?:in|since|from|until|by|of|for|before|after|during|between|to|and)\s+$", re.IGNORECASE
)
# "the 2019 elections", "Riga’s 2021 plans": a year, not a count, after a determiner (unless a round
# hundred: "the 2000 delegates")
_DETERMINER_BEFORE = re.compile(r"(?:\b(?:the|this|that|its|their|our|his|her|last|next)|\w['’]s)\s+$", re.IGNORECASE)
_NUMBER_LABEL = re.compile(r"(?:\bno\.?|\bnumber|\barticle|\bart\.|\bpage|\bp\.|§|#)\s*$", re.IGNORECASE)
_COUNTED = re.compile(r"^\s+[a-z]+(?<!s)s\b|^\s+(?:people|persons|children|women|men|staff)\b")


@dataclass(frozen=True)
class _Mention:
    start: int
    end: int
    precision: str
    first: tuple[int | None, int, int]  # (year or None when not written, month, day)
    last: tuple[int | None, int, int]
    weekday: int | None = None  # "Wednesday 10": month and year still to be found

    @property
    def year_given(self) -> bool:
        return self.first[0] is not None and self.last[0] is not None


def _day(text: str) -> int:
    digits = re.match(r"\d+", text)
    assert digits is not None, "the date patterns start a day with digits"
    return int(digits.group())


def _month(text: str) -> int:
    return MONTHS[text.rstrip(".").lower()]


def _last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _year2(first: int, text: str) -> int:
    return int(text) if len(text) == 4 else first // 100 * 100 + int(text)


def _day_range_months(m: re.Match[str]) -> _Mention:
    y2 = int(m["y2"]) if m["y2"] else None
    y1 = int(m["y1"]) if m["y1"] else y2
    return _Mention(
        m.start(), m.end(), "day", (y1, _month(m["m1"]), _day(m["d1"])), (y2, _month(m["m2"]), _day(m["d2"]))
    )


def _day_range(m: re.Match[str]) -> _Mention:
    year = int(m["y"]) if m["y"] else None
    month = _month(m["m"])
    return _Mention(m.start(), m.end(), "day", (year, month, _day(m["d1"])), (year, month, _day(m["d2"])))


def _day_month(m: re.Match[str]) -> _Mention:
    year = int(m["y"]) if m["y"] else None
    point = (year, _month(m["m"]), _day(m["d"]))
    return _Mention(m.start(), m.end(), "day", point, point)


def _month_day(m: re.Match[str]) -> _Mention | None:
    if m["m"].lower().startswith("may") and not m["y"]:
        return None  # "May 5 cities ..." is more often the verb
    year = int(m["y"]) if m["y"] else None
    month = _month(m["m"])
    last = _day(m["d2"]) if m["d2"] else _day(m["d"])
    return _Mention(m.start(), m.end(), "day", (year, month, _day(m["d"])), (year, month, last))


def _month_range(m: re.Match[str]) -> _Mention:
    y2 = int(m["y2"])
    y1 = int(m["y1"]) if m["y1"] else y2
    m1, m2 = _month(m["m1"]), _month(m["m2"])
    return _Mention(m.start(), m.end(), "month", (y1, m1, 1), (y2, m2, _last_day(y2, m2)))


def _month_year(m: re.Match[str]) -> _Mention:
    year, month = int(m["y"]), _month(m["m"])
    return _Mention(m.start(), m.end(), "month", (year, month, 1), (year, month, _last_day(year, month)))


def _quarter(m: re.Match[str]) -> _Mention:
    year = int(m["y"])
    first = int(m["q"] or m["q2"] or _ORDINAL_QUARTERS[m["qw"].lower()])
    last = int(m["e"] or m["e2"] or first)
    end_month = last * 3
    return _Mention(
        m.start(), m.end(), "quarter", (year, first * 3 - 2, 1), (year, end_month, _last_day(year, end_month))
    )


def _iso(m: re.Match[str]) -> _Mention:
    point = (int(m["y"]), int(m["m"]), int(m["d"]))
    return _Mention(m.start(), m.end(), "day", point, point)


def _year_range(m: re.Match[str]) -> _Mention | None:
    first, last = int(m["y1"]), _year2(int(m["y1"]), m["y2"])
    if last <= first:
        return None
    return _Mention(m.start(), m.end(), "year", (first, 1, 1), (last, 12, 31))


def _year(m: re.Match[str], text: str) -> _Mention | None:
    before = text[max(0, m.start() - 30) : m.start()]
    if _NUMBER_LABEL.search(before):
        return None
    year = int(m["y"])
    if (
        _COUNTED.match(text[m.end() : m.end() + 30])
        and not _YEAR_PREPOSITION.search(before)
        and not (_DETERMINER_BEFORE.search(before) and year % 100)
    ):
        return None  # "2000 delegates"
    return _Mention(m.start(), m.end(), "year", (year, 1, 1), (year, 12, 31))


def _bare_month(m: re.Match[str]) -> _Mention:
    month = _month(m["m"])
    return _Mention(m.start("m"), m.end("m"), "month", (None, month, 1), (None, month, _last_day(2001, month)))


def _weekday_day(m: re.Match[str]) -> _Mention:
    day = _day(m["d"])
    return _Mention(m.start(), m.end(), "day", (None, 0, day), (None, 0, day), WEEKDAYS[m["wd"].rstrip(".").lower()])


_PATTERNS: list[tuple[re.Pattern[str], Callable[..., _Mention | None]]] = [
    (
        re.compile(
            rf"{_START}{_OPT_WD}(?P<d1>{_D})\s+(?P<m1>{_M})(?:\s+(?P<y1>{_Y}))?{_TO}{_OPT_WD}(?P<d2>{_D})\s+(?P<m2>{_M})"
            rf"(?:,?\s+(?P<y2>{_Y}))?{_END}"
        ),
        _day_range_months,
    ),
    (
        re.compile(
            rf"{_START}{_OPT_WD}(?P<d1>{_D})(?:{_TO}|\s+(?:and|&)\s+|/){_OPT_WD}(?P<d2>{_D})\s+(?P<m>{_M})"
            rf"(?:,?\s+(?P<y>{_Y}))?{_END}"
        ),
        _day_range,
    ),
    (
        re.compile(rf"{_START}(?:{_WD},?\s+)?(?P<d>{_D})\s+(?:of\s+)?(?P<m>{_M})(?:,?\s+(?P<y>{_Y}))?{_END}"),
        _day_month,
    ),
    (
        re.compile(
            rf"{_START}(?:{_WD},?\s+)?(?P<m>{_M})\s+(?P<d>{_D})(?:\s*[-–]\s*(?P<d2>{_D}))?(?:(?:,\s*|\s+)(?P<y>{_Y}))?"
            rf"{_END}"
        ),
        _month_day,
    ),
    (
        re.compile(rf"{_START}(?P<m1>{_M})(?:\s+(?P<y1>{_Y}))?{_TO}(?P<m2>{_M}),?\s+(?P<y2>{_Y}){_END}"),
        _month_range,
    ),
    (re.compile(rf"{_START}(?P<m>{_M}),?\s+(?:of\s+)?(?P<y>{_Y}){_END}"), _month_year),
    (
        re.compile(
            rf"{_START}(?:(?P<q>[1-4])Q|Q(?P<q2>[1-4])|(?P<qw>first|second|third|fourth|1st|2nd|3rd|4th)\s+quarter)"
            rf"(?:{_TO}(?:(?P<e>[1-4])Q|Q(?P<e2>[1-4])))?(?:\s+of)?\s*[/-]?\s*(?P<y>{_Y}){_END}",
            re.IGNORECASE,
        ),
        _quarter,
    ),
    (re.compile(rf"{_START}(?P<y>{_Y})-(?P<m>0[1-9]|1[0-2])-(?P<d>0[1-9]|[12]\d|3[01]){_END}"), _iso),
    (re.compile(rf"{_START}(?P<d>0?[1-9]|[12]\d|3[01])[./](?P<m>0?[1-9]|1[0-2])[./](?P<y>{_Y}){_END}"), _iso),
    (re.compile(rf"{_START}(?P<y1>{_Y})(?:{_TO}|/)(?P<y2>{_Y}|\d{{2}}(?!\d)){_END}"), _year_range),
    (re.compile(rf"{_START}(?P<y>{_Y}){_END}(?![-–/]\d)"), _year),
    (re.compile(rf"{_START}(?P<wd>{_WD})\s+(?P<d>{_D})(?!\s*(?:{_M}|[:.]\d|\d)){_END}"), _weekday_day),
    (
        re.compile(
            r"\b(?:[Ii]n|[Dd]uring|[Ss]ince|[Uu]ntil|[Bb]y|[Ff]rom|[Bb]efore|[Aa]fter|[Ee]arly|[Ll]ate|mid-"
            rf"|[Ee]nd of|[Bb]eginning of|[Ss]tart of)\s+(?P<m>{_FULL_MONTH})(?![\w-])(?!,?\s+(?:of\s+)?\d)"
        ),
        _bare_month,
    ),
]


def _candidates(text: str) -> Iterator[_Mention]:
    for pattern, build in _PATTERNS:
        for match in pattern.finditer(text):
            mention = build(match, text) if build is _year else build(match)
            if mention is not None and _valid(mention):
                yield mention


def _valid(mention: _Mention) -> bool:
    return all(_is_date((year, month or 1, day)) for year, month, day in (mention.first, mention.last))


def _select(mentions: list[_Mention]) -> list[_Mention]:
    """Longest mentions first, no overlaps, in text order."""
    chosen: list[_Mention] = []
    for mention in sorted(mentions, key=lambda m: (m.start - m.end, m.start)):
        if all(mention.end <= other.start or other.end <= mention.start for other in chosen):
            chosen.append(mention)
    return sorted(chosen, key=lambda m: m.start)


def _document_year(mentions: list[_Mention]) -> int | None:
    """The year of the first full date (day or month) written with its year, else the commonest year."""
    for mention in mentions:
        if mention.year_given and mention.precision in ("day", "month"):
            return mention.first[0]
    years = Counter(m.first[0] for m in mentions if m.year_given)
    return years.most_common(1)[0][0] if years else None


def _with_year(mention: _Mention, year: int) -> _Mention | None:
    """``mention`` completed with ``year``; None when that makes no calendar date ("29 February" of 2021)."""
    first, last = mention.first, mention.last
    last_year = year + (1 if (last[1], last[2]) < (first[1], first[2]) else 0)  # "30 Dec - 2 Jan"
    if not date.min.year <= last_year <= date.max.year:
        return None
    last_day = _last_day(last[0] or last_year, last[1]) if mention.precision == "month" else last[2]
    completed = replace(
        mention, first=(first[0] or year, first[1], first[2]), last=(last[0] or last_year, last[1], last_day)
    )
    return completed if _is_date(completed.first) and _is_date(completed.last) else None


def _is_date(point: tuple[int | None, int, int]) -> bool:
    year, month, day = point
    try:
        date(year or 2000, month, day)
    except ValueError:
        return False
    return True


def _resolve_years(document: Document, mentions: list[_Mention], year: int | None) -> list[_Mention]:
    """Years for mentions written without one (see the module docstring)."""
    if year is None:
        return [m for m in mentions if m.year_given]
    anchor = next((m.first for m in mentions if m.year_given and m.precision == "day" and m.first[0] == year), None)
    past_group: dict[tuple[int, int, int, int], int] = {}
    for mention in mentions:
        if mention.year_given or mention.weekday is not None or anchor is None:
            continue
        start, end = document.sentence_span(mention.start)
        sentence = document.masked[start:end]
        if _PAST.search(sentence) and not _FUTURE.search(sentence) and mention.first[1:] > anchor[1:]:
            past_group[mention.first[1:] + mention.last[1:]] = year - 1
    resolved: list[_Mention] = []
    for mention in mentions:
        if mention.weekday is not None:
            found = _weekday_date(mention, resolved)
            if found:
                resolved.append(found)
        elif mention.year_given:
            resolved.append(mention)
        else:
            completed = _with_year(mention, past_group.get(mention.first[1:] + mention.last[1:], year))
            if completed is not None:
                resolved.append(completed)
    return resolved


def _weekday_date(mention: _Mention, before: list[_Mention]) -> _Mention | None:
    """ "Wednesday 10" in the month of the closest earlier date (or the month after) with that weekday."""
    context = next((m for m in reversed(before) if m.precision in ("day", "month")), None)
    if context is None:
        return None
    year, month, _ = context.last
    assert year is not None, "earlier mentions are resolved, with their year"
    day = mention.first[2]
    for _ in range(2):
        try:
            candidate = date(year, month, day)
        except ValueError:
            candidate = None
        if candidate and candidate.weekday() == mention.weekday:
            point = (year, month, day)
            return replace(mention, first=point, last=point, weekday=None)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def _calendar_date(point: tuple[int | None, int, int]) -> date:
    year, month, day = point
    assert year is not None, "_resolve_years keeps only mentions with a year"
    return date(year, month, day)


def find_dates(document: Document, document_year: int | None = None) -> list[Fact]:
    """Date facts in ``document``; ``document_year`` (else inferred) completes dates without a year."""
    mentions = _select(list(_candidates(document.masked)))
    if document_year is not None and not date.min.year < document_year < date.max.year:
        document_year = None  # not a calendar year: inferred from the text instead
    year = document_year if document_year is not None else _document_year(mentions)
    facts = []
    written_without_year = {(m.start, m.end) for m in mentions if not m.year_given}
    for mention in _resolve_years(document, mentions, year):
        first, last = _calendar_date(mention.first), _calendar_date(mention.last)
        facts.append(
            make_fact(
                document,
                "date",
                mention.start,
                mention.end,
                start_date=first.isoformat(),
                end_date=last.isoformat(),
                precision=mention.precision,
                year_inferred=(mention.start, mention.end) in written_without_year,
            )
        )
    return facts
