"""All extractors over one text, in dependency order."""

from __future__ import annotations

from observatory.extract.cities import find_cities
from observatory.extract.counts import find_counts
from observatory.extract.dates import find_dates
from observatory.extract.document import Document
from observatory.extract.events import find_events
from observatory.extract.facts import KINDS, Fact, overlaps
from observatory.extract.language import detect_language
from observatory.extract.money import find_money
from observatory.extract.organisations import find_organisations
from observatory.extract.programmes import find_programmes
from observatory.extract.shares import find_shares


def extract_facts(text: str, *, document_year: int | None = None) -> list[Fact]:
    """Every fact in ``text``, ordered by offset then kind.

    ``document_year`` completes dates written without a year; by default it is the year of the
    text's first full date (see :mod:`observatory.extract.dates`). Counts and events, whose rules read
    English grammar, are looked for only in text that is English or too short to tell.
    """
    document = Document.from_text(text)
    organisations = find_organisations(document)
    programmes = find_programmes(document)
    money = find_money(document)
    shares = find_shares(document)
    amounts = [(fact.start, fact.end) for fact in money + shares]
    dates = [fact for fact in find_dates(document, document_year) if not overlaps(fact.start, fact.end, amounts)]
    english = detect_language(text) in ("en", None)
    counts = find_counts(document, [(fact.start, fact.end) for fact in dates + money + shares]) if english else []
    cities = find_cities(
        document,
        [(fact.start, fact.end) for fact in organisations + programmes],
        [(fact.start, fact.end) for fact in dates],
    )
    events = find_events(document, dates, cities, organisations) if english else []
    facts = organisations + programmes + money + shares + dates + counts + cities + events
    return sorted(facts, key=lambda fact: (fact.start, KINDS.index(fact.kind), fact.end))
