"""Dates and periods: precision, ranges, quarters and the document year."""

from __future__ import annotations

import pytest

from observatory.extract import extract_facts


def dates(text: str, year: int | None = None) -> list[tuple[str, str, str, str]]:
    return [
        (f.text, f.attributes["start_date"], f.attributes["end_date"], f.attributes["precision"])
        for f in extract_facts(text, document_year=year)
        if f.kind == "date"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Signed on 20 September 2021.", ("20 September 2021", "2021-09-20", "2021-09-20", "day")),
        ("Signed on September 20, 2021.", ("September 20, 2021", "2021-09-20", "2021-09-20", "day")),
        ("Signed on 2021-09-20.", ("2021-09-20", "2021-09-20", "2021-09-20", "day")),
        ("Signed on 20/09/2021.", ("20/09/2021", "2021-09-20", "2021-09-20", "day")),
        ("Published in March 2019.", ("March 2019", "2019-03-01", "2019-03-31", "month")),
        ("Results for 1Q 2014 are in.", ("1Q 2014", "2014-01-01", "2014-03-31", "quarter")),
        ("Results for Q3 2015 are in.", ("Q3 2015", "2015-07-01", "2015-09-30", "quarter")),
        (
            "In the first quarter of 2020 it grew.",
            ("first quarter of 2020", "2020-01-01", "2020-03-31", "quarter"),
        ),
        ("Data cover Jan-Dec 2014.", ("Jan-Dec 2014", "2014-01-01", "2014-12-31", "month")),
        ("The 2021-2027 budget.", ("2021-2027", "2021-01-01", "2027-12-31", "year")),
        ("The 2019/20 school year.", ("2019/20", "2019-01-01", "2020-12-31", "year")),
        (
            "Held 20-24 September 2021 in Brussels.",
            ("20-24 September 2021", "2021-09-20", "2021-09-24", "day"),
        ),
        ("From 30 March to 2 April 2019.", ("30 March to 2 April 2019", "2019-03-30", "2019-04-02", "day")),
        ("Since 2016 the city grew.", ("2016", "2016-01-01", "2016-12-31", "year")),
        (
            "Tuesday 14 – Wednesday 15 June 2022, Utrecht",
            ("Tuesday 14 – Wednesday 15 June 2022", "2022-06-14", "2022-06-15", "day"),
        ),
    ],
)
def test_date_forms_and_precision(text, expected):
    assert dates(text) == [expected]


def test_missing_year_comes_from_the_document():
    assert dates("The academy takes place on 21-22 May.", year=2019) == [
        ("21-22 May", "2019-05-21", "2019-05-22", "day")
    ]
    [fact] = [f for f in extract_facts("Apply until 1 April.", document_year=2024) if f.kind == "date"]
    assert fact.attributes["year_inferred"] is True


def test_document_year_is_inferred_from_the_first_full_date():
    text = "Forum, 25-27 March 2019, Glasgow\n\nThe next meeting is on 8-10 April."
    assert dates(text)[1] == ("8-10 April", "2019-04-08", "2019-04-10", "day")


def test_past_event_after_the_document_date_belongs_to_the_previous_year():
    text = "Update, 25 March 2019\n\nOn 15 October, the plan was launched.\nOn 13 March, the vote was held."
    found = {text_: start for text_, start, _, _ in dates(text)}
    assert found["15 October"] == "2018-10-15"
    assert found["13 March"] == "2019-03-13"


def test_weekday_with_day_uses_the_month_mentioned_before():
    text = "Meeting in Toulouse, 8-10 April 2019. Wednesday 10 is for discussions."
    assert dates(text)[-1] == ("Wednesday 10", "2019-04-10", "2019-04-10", "day")


@pytest.mark.parametrize(
    "text",
    [
        "2000 delegates attended.",  # a count, not a year
        "See page 2019 of the annex.",
        "The MC2CM project.",
        "Phone 2020-555.",
        "Call 10:30 - 11:00.",
    ],
)
def test_numbers_that_are_not_dates(text):
    assert dates(text, year=2020) == []
