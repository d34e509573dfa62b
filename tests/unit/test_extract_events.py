"""Events: headings, date lines, sentences, future events, organisers and agendas."""

from __future__ import annotations

from observatory.extract import extract_facts


def events(text: str, year: int | None = None) -> list[dict]:
    return [f.to_record("doc") for f in extract_facts(text, document_year=year) if f.kind == "event"]


def test_heading_with_title_date_and_city():
    [event] = events("### 1. Integration Forum - 7-8 November 2018, Lisbon\n\nIt went well.")
    assert (event["title"], event["start_date"], event["end_date"], event["city"], event["event_type"]) == (
        "Integration Forum",
        "2018-11-07",
        "2018-11-08",
        "Lisbon",
        "forum",
    )


def test_heading_without_event_noun_needs_a_city():
    assert events("## Housing policy - 3 May 2021\n\nText.") == []
    [event] = events("## Housing group - 3 May 2021, Porto\n\nText.")
    assert (event["title"], event["city"]) == ("Housing group", "Porto")


def test_title_drops_the_city_it_names():
    [event] = events("- **WG meeting in Toulouse, 8-10 April**\n", year=2019)
    assert (event["title"], event["city"], event["start_date"]) == ("WG meeting", "Toulouse", "2019-04-08")


def test_future_event_in_a_sentence():
    [event] = events("Update, 1 March 2023.\n\nThe next meeting is scheduled for 12 June in Vienna.")
    assert (event["title"], event["start_date"], event["city"]) == ("next meeting", "2023-06-12", "Vienna")


def test_met_sentence_names_the_meeting_after_its_subject():
    [event] = events("The Steering Group met in Riga on 3-4 June 2020, after the conference.")
    assert (event["title"], event["start_date"], event["end_date"], event["city"]) == (
        "Steering Group meeting",
        "2020-06-03",
        "2020-06-04",
        "Riga",
    )


def test_anaphora_takes_the_title_and_organiser_from_the_previous_sentence():
    text = (
        "The European Commission in collaboration with Eurocities is organising the Urban Academy on "
        "Integration. This will take place in Antwerp on 21-22 May 2019. Apply until 1 April 2019."
    )
    [event] = events(text)
    assert event["title"] == "Urban Academy on Integration"
    assert (event["organiser"], event["co_organisers"], event["city"]) == (
        "European Commission",
        ["Eurocities"],
        "Antwerp",
    )


def test_organised_by_a_city():
    [event] = events("A study visit on 5 May 2022 was hosted by the City of Bergen.")
    assert event["organiser"] == "City of Bergen"


def test_info_day_in_a_list_item():
    [event] = events("<ul><li>Info day: 3 March 2023, online</li></ul>")
    assert (event["title"], event["start_date"], event["city"]) == ("Info day", "2023-03-03", None)


def test_deadlines_and_undated_mentions_are_not_events():
    assert events("Registration for the conference is open until 1 April 2024.") == []
    assert events("The conference was a success.") == []


AGENDA = """MC Days: Cities and migration

10-11 March 2022 in Athens

21 March 2022

Thematic Session – Housing for newcomers

- 09:30 - 10:00** Welcome
- 10:00 - 11:00** Keynote by **Jane Doe**, Director General ICMPD
Panel discussion
- **John Roe**, Mayor of Patras
- European Commission representative
- Moderation: **Ann Poe**, Policy Officer, UCLG
"""


def test_date_line_titled_by_the_previous_line():
    first = events(AGENDA)[0]
    assert (first["title"], first["start_date"], first["end_date"], first["city"]) == (
        "MC Days: Cities and migration",
        "2022-03-10",
        "2022-03-11",
        "Athens",
    )


def test_agenda_day_with_timed_items_and_speakers():
    session = events(AGENDA)[1]
    assert (session["title"], session["start_date"], session["event_type"]) == (
        "Thematic Session – Housing for newcomers",
        "2022-03-21",
        "session",
    )
    welcome, keynote = session["agenda"]
    assert (welcome["start_time"], welcome["end_time"], welcome["title"]) == ("09:30", "10:00", "Welcome")
    speakers = [(s["name"], s["role"], s["organisation"], s["function"]) for s in keynote["speakers"]]
    assert speakers == [
        (
            "Jane Doe",
            "Director General ICMPD",
            "International Centre for Migration Policy Development",
            "keynote",
        ),
        ("John Roe", "Mayor of Patras", None, "panellist"),
        (None, "European Commission representative", "European Commission", "panellist"),
        ("Ann Poe", "Policy Officer, UCLG", "United Cities and Local Governments", "moderator"),
    ]


def test_session_inside_a_longer_event_inherits_its_city():
    text = "Integration Days\n\n20-24 September 2021 in Brussels\n\n21 September 2021\n\nThematic Session on jobs\n"
    days, session = events(text)
    assert (session["parent"], session["city"]) == (days["title"], "Brussels")


def test_date_line_titled_by_a_heading_two_lines_up_and_its_agenda_days():
    text = (
        "Integrating Cities Conference X\n\nBuilding inclusive cities together\n\n"
        "Tuesday 14 – Wednesday 15 June 2022, Utrecht (Netherlands)\n\nProgramme\n\n"
        "Tuesday 14 June 2022\n\nPlenary session – Welcoming communities\n\n"
        "9.30 – 10.00 Registration\n10.00 – 11.00 Opening by Jane Roe, Mayor of Utrecht\nChair: Ann Poe, Eurocities\n"
    )
    conference, plenary = events(text)
    assert (conference["title"], conference["start_date"], conference["end_date"], conference["city"]) == (
        "Integrating Cities Conference X",
        "2022-06-14",
        "2022-06-15",
        "Utrecht",
    )
    assert (plenary["parent"], plenary["city"]) == ("Integrating Cities Conference X", "Utrecht")
    registration, opening = plenary["agenda"]
    assert (registration["start_time"], opening["title"]) == ("9:30", "Opening")
    assert [(s["name"], s["function"]) for s in opening["speakers"]] == [
        ("Jane Roe", "speaker"),
        ("Ann Poe", "moderator"),
    ]
