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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Aug 25th 2020BERLIN", ("Aug 25th 2020", "2020-08-25", "2020-08-25", "day")),
        ("Sep 3rd 2019PARIS", ("Sep 3rd 2019", "2019-09-03", "2019-09-03", "day")),
        ("Monday 3 May 2021PARIS", ("Monday 3 May 2021", "2021-05-03", "2021-05-03", "day")),
        ("25/08/2020BERLIN", ("25/08/2020", "2020-08-25", "2020-08-25", "day")),
        ("Oct. 5th, 2019ROME —", ("Oct. 5th, 2019", "2019-10-05", "2019-10-05", "day")),
        ("Aug 25th 2020 — the city", ("Aug 25th 2020", "2020-08-25", "2020-08-25", "day")),
        ("On September 20 2021 we met.", ("September 20 2021", "2021-09-20", "2021-09-20", "day")),
    ],
)
def test_dateline_date_keeps_its_year(text, expected):
    assert dates(text) == [expected]


def test_dateline_year_wins_over_other_years_of_the_document():
    text = "Aug 25th 2020BERLIN\nIn 2015 1.2m asylum seekers came. On 7 February the council met."
    assert dates(text) == [
        ("Aug 25th 2020", "2020-08-25", "2020-08-25", "day"),
        ("2015", "2015-01-01", "2015-12-31", "year"),
        ("7 February", "2020-02-07", "2020-02-07", "day"),
    ]


@pytest.mark.parametrize("text", ["In the 2020s cities grew.", "Results for 2020Q1 are in.", "Code 2020AB12 was used."])
def test_year_glued_to_other_things_is_not_a_date(text):
    assert dates(text) == []


@pytest.mark.parametrize(
    ("text", "year", "expected"),
    [
        ("The deadline is 7 February.", 2021, ("7 February", "2021-02-07", "2021-02-07", "day")),
        ("The deadline is 21 March.", 2019, ("21 March", "2019-03-21", "2019-03-21", "day")),
        ("The deadline is October 3.", 2022, ("October 3", "2022-10-03", "2022-10-03", "day")),
        ("FRIDAY 7 FEBRUARY: opening session", 2020, ("7 FEBRUARY", "2020-02-07", "2020-02-07", "day")),
        ("The meeting is on 6/7 February.", 2021, ("6/7 February", "2021-02-06", "2021-02-07", "day")),
        ("Deadline: 29 February.", 2024, ("29 February", "2024-02-29", "2024-02-29", "day")),
    ],
)
def test_yearless_date_takes_the_document_year(text, year, expected):
    assert dates(text, year=year) == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "The 2019 elections changed the council. The deadline is 7 February.",
            [("2019", "2019-01-01", "2019-12-31", "year"), ("7 February", "2019-02-07", "2019-02-07", "day")],
        ),
        (
            "Riga’s 2021 plans: the next meeting is on 7 February.",
            [("2021", "2021-01-01", "2021-12-31", "year"), ("7 February", "2021-02-07", "2021-02-07", "day")],
        ),
        (
            "Aug 25th 2020BERLIN The next meeting is on 7 February.",
            [("Aug 25th 2020", "2020-08-25", "2020-08-25", "day"), ("7 February", "2020-02-07", "2020-02-07", "day")],
        ),
    ],
)
def test_yearless_date_takes_the_inferred_year(text, expected):
    assert dates(text) == expected


def test_yearless_date_without_any_year_to_take_is_dropped():
    assert dates("The deadline is 7 February.") == []
    assert dates("The 2000 delegates met on 7 February.", year=2020) == [
        ("7 February", "2020-02-07", "2020-02-07", "day")
    ]  # a round hundred before a plural stays a count


@pytest.mark.parametrize("year", [2023, 9999, 0, -5, 10_000])
def test_day_that_the_year_lacks_or_an_odd_document_year_never_raises(year):
    found = dates("Deadline: 29 February. Wednesday 31 and 30 Dec - 2 Jan.", year=year)
    assert all(start <= end for _, start, end, _ in found)
    assert ("29 February", "2023-02-29", "2023-02-29", "day") not in found
