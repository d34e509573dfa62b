"""Events and funding end to end: the registry's sources plus a re-published feed, a paged JSON API and a French
list, through the real pipeline (landing, parsing, GX gate, publish) and `dbt build` on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
import yaml
from pytest_httpserver import HTTPServer

from observatory import pipeline
from observatory.config.settings import Settings
from observatory_dev.docs_site import dbt_command

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DAY1 = datetime(2026, 3, 1, tzinfo=UTC)
DAY2 = datetime(2026, 3, 2, tzinfo=UTC)
REGISTRY_SOURCES = [
    "events_fablab_cottbus",
    "events_machbar_potsdam",
    "events_prague_community_pages",
    "events_city_network_pages",
    "funding_esf_berlin",
    "funding_erdf_brussels",
    "funding_cohesion_eu_operations",
    "eurostat_migr_pop1ctz_fr",
]

FEED_V1 = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//EN\r
BEGIN:VEVENT\r
UID:forum@example.org\r
DTSTART;TZID=Europe/Vienna:20250305T180000\r
DTEND;TZID=Europe/Vienna:20250305T200000\r
SUMMARY:Residents' forum\r
LOCATION:Rathaus\\, Friedrich-Schmidt-Platz 1\\, 1010 Wien\r
SEQUENCE:0\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:cafe@example.org\r
DTSTART;TZID=Europe/Vienna:20250306T170000\r
DTEND;TZID=Europe/Vienna:20250306T190000\r
RRULE:FREQ=WEEKLY;COUNT=3\r
SUMMARY:Language café\r
LOCATION:1120 Wien\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:gone@example.org\r
DTSTART:20250310T090000Z\r
SUMMARY:Info morning\r
LOCATION:1020 Wien\r
END:VEVENT\r
END:VCALENDAR\r
"""
# the forum moves (SEQUENCE 1), the café loses its second date, the info morning is withdrawn, a picnic appears
FEED_V2 = (
    FEED_V1.replace("SEQUENCE:0", "SEQUENCE:1")
    .replace("20250305T180000", "20250307T180000")
    .replace("20250305T200000", "20250307T200000")
    .replace(
        "RRULE:FREQ=WEEKLY;COUNT=3\r\n", "RRULE:FREQ=WEEKLY;COUNT=3\r\nEXDATE;TZID=Europe/Vienna:20250313T170000\r\n"
    )
    .replace("UID:gone@example.org", "UID:picnic@example.org")
    .replace("Info morning", "Picnic")
)

FRENCH_LIST = (
    "Bénéficiaire;Projet;Début;Montant;Commune\nVille de Paris;Accueil des réfugiés;2016-02-01;1 000 000,00;Paris\n"
)

SETTINGS = Settings.from_env()


def dbt_build(dsn: str, select: str, target: Path) -> None:
    result = dbt_command(
        ["build", "--target-path", str(target), "--select", select, "--indirect-selection", "cautious"],
        dsn,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:]


@pytest.fixture(scope="module")
def warehouse(warehouse_dsn, sample_base_url, tmp_path_factory) -> str:
    """The warehouse after two publications of the test feed, each followed by `dbt build`."""

    work = tmp_path_factory.mktemp("events_funding")
    feed, french = work / "feed.ics", work / "paris.csv"
    feed.write_text(FEED_V1, encoding="utf-8")
    french.write_text(FRENCH_LIST, encoding="utf-8")
    server = HTTPServer()
    server.start()
    for name in ("amif_api_page1.json", "amif_api_page2.json"):
        server.expect_request(f"/api/{name}").respond_with_data(
            (FIXTURES / "funding" / name).read_bytes(), content_type="application/json"
        )
    registry = yaml.safe_load(SETTINGS.registry_path.read_text(encoding="utf-8"))
    registry["sources"].update(
        {
            "events_test_feed": {
                "kind": "events",
                "format": "ics",
                "description": "re-published test feed",
                "publisher": "test",
                "suite": "calendar_event",
                "paths": [str(feed)],
                "parse": {"country_code": "AT", "window_start": "2025-03-01", "window_end": "2025-03-31"},
            },
            "funding_test_amif_api": {
                "kind": "funding",
                "format": "funding_json",
                "description": "paged AMIF API",
                "publisher": "test",
                "suite": "funding_operation",
                "collector": "paged",
                "urls": [server.url_for("/api/amif_api_page1.json")],
                "collect": {"paging": "next_link", "records_path": "data", "next_path": "links.next"},
                "parse": {
                    "records_path": "data",
                    "currency": "EUR",
                    "country_code": "GR",
                    "programme": "AMIF national programme Greece 2014-2020",
                    "fields": {
                        "beneficiary_name": "attributes.beneficiary",
                        "operation_title": "attributes.title",
                        "start_date": "attributes.start",
                        "end_date": "attributes.end",
                        "amount": "attributes.union_contribution",
                        "fund": "attributes.fund",
                        "location_name": "attributes.municipality",
                    },
                },
            },
            "funding_test_paris": {
                "kind": "funding",
                "format": "funding_csv",
                "description": "French list",
                "publisher": "test",
                "suite": "funding_operation",
                "paths": [str(french)],
                "parse": {
                    "delimiter": ";",
                    "currency": "EUR",
                    "country_code": "FR",
                    "fund": "AMIF",
                    "decimal": ",",
                    "columns": {
                        "beneficiary_name": "Bénéficiaire",
                        "operation_title": "Projet",
                        "start_date": "Début",
                        "amount": "Montant",
                        "location_name": "Commune",
                    },
                },
            },
        }
    )
    (work / "sources.yml").write_text(yaml.safe_dump(registry, allow_unicode=True), encoding="utf-8")
    settings = Settings.from_env().replace(registry_path=work / "sources.yml", landing_dir=work / "landing")
    for source_id in [*REGISTRY_SOURCES, "events_test_feed", "funding_test_amif_api", "funding_test_paris"]:
        pipeline.run_source(source_id, DAY1, settings)
    marts = "+fct_event_participation +mart_city_engagement +mart_funding_overview +dim_programme +mart_city_profile"
    dbt_build(warehouse_dsn, marts, work / "target")
    feed.write_text(FEED_V2, encoding="utf-8")
    pipeline.run_source("events_test_feed", DAY2, settings)
    dbt_build(warehouse_dsn, "int_events_occurrences_tracked+", work / "target")
    server.clear()
    server.stop()
    return warehouse_dsn


def rows(dsn: str, query: str, *params) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(query, params).fetchall()


def test_real_feed_events_have_utc_times_cities_and_geo(warehouse) -> None:
    [christmas] = rows(
        warehouse,
        """select event_start_utc, event_original_tzid, city_name, geonames_id, geo_code
                                     from marts.fct_event where event_uid = 'ai1ec-1441@blog.fablab-cottbus.de'""",
    )
    assert christmas == (datetime(2016, 12, 3, 13, tzinfo=UTC), "Europe/Berlin", "Cottbus", 2939811, "DE")
    [picnic] = rows(
        warehouse,
        """select event_start_date, city_name, geo_code from marts.fct_event
                                  where event_uid = 'prague-community:letna-summer-picnic.en'""",
    )
    assert picnic == (datetime(2025, 6, 14).date(), "Prague", "CZ")
    unjoined = rows(
        warehouse,
        """select count(*) from marts.fct_event e left join marts.dim_geo g using (geo_code)
                                  where e.geo_code is not null and g.geo_code is null""",
    )
    assert unjoined == [(0,)]
    assert rows(
        warehouse,
        """select p.participation_role, p.city_name, p.geo_code from marts.fct_event_participation p
                              join marts.fct_event e using (event_occurrence_id)
                              where e.event_uid = 'ai1ec-1441@blog.fablab-cottbus.de'""",
    ) == [("host", "Cottbus", "DE")]


def test_republished_feed_updates_by_uid_and_marks_withdrawn_events(warehouse) -> None:
    events = rows(
        warehouse,
        """select event_uid, event_title, event_start_utc, is_deleted, deleted_at is not null
                                from marts.fct_event where source_id = 'events_test_feed'
                                order by event_uid, event_start_utc""",
    )
    utc = lambda *a: datetime(*a, tzinfo=UTC)  # noqa: E731
    assert events == [
        ("cafe@example.org", "Language café", utc(2025, 3, 6, 16), False, False),
        ("cafe@example.org", "Language café", utc(2025, 3, 20, 16), False, False),  # 13 March excluded in v2
        ("forum@example.org", "Residents' forum", utc(2025, 3, 7, 17), False, False),  # moved: one row, no copy
        ("gone@example.org", "Info morning", utc(2025, 3, 10, 9), True, True),  # withdrawn: kept, marked
        ("picnic@example.org", "Picnic", utc(2025, 3, 10, 9), False, False),
    ]
    [(first, updated, sequence)] = rows(
        warehouse,
        """select distinct uid_first_published_at < uid_updated_at, uid_updated_at = uid_last_published_at,
                             uid_sequence
                      from intermediate.int_events_occurrences_tracked where event_uid = 'forum@example.org'""",
    )
    assert (first, updated, sequence) == (True, True, 1)
    assert rows(
        warehouse,
        """select distinct city_name, geo_code from marts.fct_event
                              where source_id = 'events_test_feed'""",
    ) == [("Vienna", "AT")]


def test_city_engagement_counts_feed_events(warehouse) -> None:
    engagement = {
        city: rest
        for city, *rest in rows(
            warehouse,
            """select city_name, geo_code, document_count, event_count, hosted_event_count,
                             participant_event_count, first_event_date, last_event_date
                      from marts.mart_city_engagement where city_name in ('Vienna', 'Prague')""",
        )
    }
    # Vienna: hosts the test feed's café (2 dates left), forum and picnic (the withdrawn info morning does not
    # count), and speaks at the city network's exchange in Prague on 15 May
    assert engagement["Vienna"] == ["AT", 0, 5, 4, 0, date(2025, 3, 6), date(2025, 5, 15)]
    # Prague: the four community pages and the city network's exchange, which it hosts
    assert engagement["Prague"] == ["CZ", 0, 5, 5, 0, date(2025, 1, 22), date(2025, 10, 26)]


def test_participation_roles_from_an_english_event_page(warehouse) -> None:
    """The city network's exchange: hosted by Prague, Bratislava's guests take part, officers of Prague, Vienna
    and Brno speak; each city's engagement counts the event once per role it had."""
    assert rows(
        warehouse,
        """select p.participation_role, p.city_name, p.geo_code, p.organisation_names
                              from marts.fct_event_participation p join marts.fct_event e using (event_occurrence_id)
                              where e.event_uid = 'city-network:welcoming-cities-exchange.en'
                              order by 1, 2""",
    ) == [
        ("host", "Prague", "CZ", None),
        ("participant", "Bratislava", "SK", None),
        ("speaker_organisation", "Brno", "CZ", "Mayor of Brno"),
        ("speaker_organisation", "Prague", "CZ", "Deputy Mayor of Prague"),
        ("speaker_organisation", "Vienna", "AT", "Head of Integration, City of Vienna"),
    ]
    engagement = {
        city: rest
        for city, *rest in rows(
            warehouse,
            """select city_name, event_count, hosted_event_count, participant_event_count,
                             speaker_organisation_event_count
                      from marts.mart_city_engagement where city_name in ('Prague', 'Bratislava', 'Brno')""",
        )
    }
    assert engagement == {"Prague": [5, 5, 0, 1], "Bratislava": [1, 0, 1, 0], "Brno": [1, 0, 0, 1]}


def test_funding_mart_amounts_programmes_and_integration(warehouse) -> None:
    [berlin] = rows(
        warehouse,
        """select amount_original, currency_code, amount_eur, programme_id, geo_code,
                                         concerns_integration, integration_basis
                                  from marts.fct_funding
                                  where operation_title = 'Pflegehilfe mit integrierter Deutsch-Förderung'""",
    )
    assert berlin == (Decimal("91100.16"), "EUR", Decimal("91100.16"), "ESF:2014-2020", "DE", True, "keyword")
    # one row per published operation (2007-2013 holds ERF from 2008: the period join must not fan out)
    assert rows(
        warehouse,
        """select count(*), count(distinct operation_id), min(programme_id) from marts.fct_funding
                              where source_id = 'funding_erdf_brussels'""",
    ) == [(3, 3, "ERDF:2007-2013")]
    greek = rows(
        warehouse,
        """select beneficiary_name, amount_eur, city_name, geo_code, programme_id, integration_basis
                               from marts.fct_funding where source_id = 'funding_test_amif_api'
                               order by amount_eur desc""",
    )
    assert greek == [
        ("Municipality of Athens", Decimal("1234567.89"), "Athens", "EL", "AMIF:2014-2020", "fund"),
        ("Municipality of Thessaloniki", Decimal("300000.10"), "Thessaloníki", "EL", "AMIF:2014-2020", "fund"),
        ("Hellenic Red Cross", Decimal("95000.00"), None, "EL", "AMIF:2014-2020", "fund"),
    ]


def test_paged_cohesion_api_reaches_the_funding_mart(warehouse) -> None:
    cohesion = rows(
        warehouse,
        """select beneficiary_name, amount_eur, programme_id, city_name, geo_code,
                                         concerns_integration, integration_basis
                                  from marts.fct_funding where source_id = 'funding_cohesion_eu_operations'
                                  order by amount_eur desc""",
    )
    assert len(cohesion) == 9 and sum(row[1] for row in cohesion) == Decimal("6270484.23")  # 7 IT + 2 FR
    assert cohesion[:2] == [
        ("Città metropolitana di Bologna", Decimal("3120400.35"), "ERDF:2014-2020", "Bologna", "IT", False, None),
        ("Comune di Milano", Decimal("1250000.50"), "ESF:2014-2020", "Milan", "IT", True, "keyword"),
    ]


def test_funding_overview_per_foreign_resident_and_reasons(warehouse) -> None:
    [paris] = rows(
        warehouse,
        """select committed_amount_eur, foreign_citizens, amount_eur_per_foreign_resident,
                                        integration_operation_share
                                 from marts.mart_funding_overview
                                 where geo_level = 'country' and geo_code = 'FR' and funding_year = 2016""",
    )
    # 1 000 000 EUR / (1 375 362 EU + 3 169 431 non-EU citizens in France on 1 January 2016)
    assert paris == (Decimal("1000000.00"), Decimal(4544793), Decimal("0.2200"), Decimal("1.0000"))
    reasons = dict(
        rows(
            warehouse,
            """select geo_level || ':' || geo_code, per_resident_missing_reason
                                      from marts.mart_funding_overview
                                      where geo_code in ('DE', 'EL') and funding_year = 2016""",
        )
    )
    assert reasons == {
        "country:DE": "no population_by_citizenship for DE on 1 January 2016",
        "city:DE": "no population by citizenship for cities in the warehouse",
    }
    unjoined = rows(
        warehouse,
        """select count(*) from marts.mart_funding_overview o
                                  left join marts.dim_geo g using (geo_code) where g.geo_code is null""",
    )
    assert unjoined == [(0,)]
