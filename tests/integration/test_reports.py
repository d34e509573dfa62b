"""Reports end to end: URL list and RSS feed → landing → parse with facts → GX gate → raw → dbt report marts,
against the real PostgreSQL, localhost HTTP and dbt."""

from __future__ import annotations

from datetime import UTC, date, datetime

import psycopg
import pytest

from observatory import pipeline
from observatory.config.settings import Settings
from observatory_dev.docs_site import dbt_command

DAY = datetime(2026, 3, 10, tzinfo=UTC)
SOURCES = ("reports_city_network_updates", "reports_city_network_feed")


@pytest.fixture(scope="module")
def published(warehouse_dsn, sample_base_url, tmp_path_factory) -> dict[str, int]:
    """Both report sources collected and published once (landing zone of their own)."""
    settings = Settings.from_env().replace(landing_dir=tmp_path_factory.mktemp("landing"))
    return {source_id: pipeline.run_source(source_id, DAY, settings) for source_id in SOURCES}


@pytest.fixture(scope="module")
def report_marts(published, warehouse_dsn, tmp_path_factory) -> str:
    """`dbt build` of the report models (and what they need) into the test database."""
    target = tmp_path_factory.mktemp("dbt_target")
    result = dbt_command(
        [
            "build",
            "--target-path",
            str(target),
            "--log-path",
            str(target),
            "--select",
            "+dim_document",
            "+fct_report_fact",
            "+int_report_events",
            "+mart_city_engagement",
            "--indirect-selection",
            "cautious",
        ],
        warehouse_dsn,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:]
    return warehouse_dsn


def rows(dsn: str, query: str, *params) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(query, params).fetchall()


def test_both_sources_publish_the_three_reports_with_facts(published, warehouse_dsn) -> None:
    assert published == {source_id: 3 for source_id in SOURCES}
    by_source = rows(
        warehouse_dsn,
        """select source_id, count(distinct document_id), min(language), max(language)
                                      from raw.report_document group by 1 order by 1""",
    )
    assert by_source == [("reports_city_network_feed", 3, "en", "en"), ("reports_city_network_updates", 3, "en", "en")]
    [(mismatched, facts)] = rows(
        warehouse_dsn,
        """
        select count(*) filter (where substr(d.body_text, (f ->> 'start')::int + 1,
                                             (f ->> 'end')::int - (f ->> 'start')::int) <> f ->> 'text'),
               count(*)
        from raw.report_document d cross join lateral jsonb_array_elements(d.facts) f""",
    )
    assert facts > 300 and mismatched == 0


def test_the_feed_itself_is_landed_and_logged(published, warehouse_dsn) -> None:
    logged = rows(
        warehouse_dsn,
        "select resource, media_type, outcome from audit.fetch_log where load_id = %s order by fetch_id",
        pipeline.load_id_for("reports_city_network_feed", DAY),
    )
    assert logged[0] == ("sample_data/reports/city_network_updates.rss", "application/rss+xml", "fetched")
    assert [resource for resource, _, _ in logged[1:]] == [
        "sample_data/reports/mc2cm_days_2021_concept_note.txt",
        "sample_data/reports/ec_action_plan_integration_2021_2027_slides.txt",
        "sample_data/reports/eurocities_wg_migration_update_2019.txt",
    ]


def test_document_dimension_keeps_each_document_once(report_marts) -> None:
    documents = rows(
        report_marts,
        "select document_title, document_source_ids, document_fact_count > 0 "
        "from marts.dim_document order by document_title",
    )
    assert len(documents) == 3
    assert all(sources == ", ".join(sorted(SOURCES)) and has_facts for _, sources, has_facts in documents)


def test_fact_mart_links_cities_to_eurostat_country_codes(report_marts) -> None:
    cities = dict(rows(report_marts, "select name, geo_code from marts.fct_report_fact where kind = 'city'"))
    assert (cities["Thessaloníki"], cities["Glasgow"], cities["Milan"], cities["Marrakesh"]) == ("EL", "UK", "IT", None)
    assert rows(report_marts, "select text, amount, currency from marts.fct_report_fact where kind = 'money'") == [
        ("€200 million", 200000000, "EUR")
    ]


def test_report_events_contract(report_marts) -> None:
    columns = rows(
        report_marts,
        """select column_name, data_type from information_schema.columns
                                    where table_name = 'int_report_events' order by ordinal_position""",
    )
    assert columns == [
        ("document_id", "text"),
        ("event_title", "text"),
        ("start_date", "date"),
        ("end_date", "date"),
        ("city_name", "text"),
        ("geonames_id", "bigint"),
        ("country_code", "text"),
        ("organiser", "text"),
    ]
    assert (
        rows(
            report_marts,
            """select start_date, end_date, city_name, geonames_id, country_code, organiser
                                 from intermediate.int_report_events
                                 where event_title = 'Urban Academy on the Integration of Migrants and Refugees'
                              """,
        )
        == [(date(2019, 5, 21), date(2019, 5, 22), "Antwerp", 2803138, "BE", "European Commission")] * 2
    )


def test_city_engagement(report_marts) -> None:
    engagement = {
        city: rest
        for city, *rest in rows(
            report_marts,
            """select city_name, geo_code, document_count, mention_count, report_event_count, event_count,
                                hosted_event_count, participant_event_count
                         from marts.mart_city_engagement""",
        )
    }
    # the conference (7-8 Nov) and the WG meeting (8-9 Nov) by dates; as fct_event rows, the WG meeting is two
    # events, as the report names it twice with different titles ("WG meeting", "WG migration and integration")
    assert engagement["Milan"] == ["IT", 1, 5, 2, 3, 3, 0]
    assert engagement["Brussels"] == ["BE", 1, 2, 6, 6, 6, 0]  # MC2CM days and their five sessions
