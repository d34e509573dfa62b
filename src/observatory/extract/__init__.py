"""Fact extraction from report text: cities, dates, events, money, shares, counts, programmes and
organisations, each with its character offsets and sentence.

    from observatory.extract import extract_facts
    for fact in extract_facts(text):
        print(fact.to_record("report.txt"))
"""

from observatory.extract.facts import Fact
from observatory.extract.pipeline import extract_facts

__all__ = ["Fact", "extract_facts"]
