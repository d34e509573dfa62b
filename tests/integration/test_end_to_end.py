"""The whole pipeline as `make demo` runs it: real Airflow (`airflow dags test` of every DAG), cosmos + dbt
(models and their tests), GX gates, real PostgreSQL; then the marts hold the values of the real files."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import psycopg
import pytest

from observatory_dev.demo import run_demo


@pytest.fixture(scope="module")
def demo_output(warehouse_dsn, tmp_path_factory) -> str:
    import contextlib
    import io
    import os

    os.environ["AIRFLOW_HOME"] = str(tmp_path_factory.mktemp("airflow_home"))
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        run_demo(datetime(2026, 4, 1, tzinfo=UTC))
    return buffer.getvalue()


def one(dsn: str, query: str, *params):
    with psycopg.connect(dsn) as conn:
        return conn.execute(query, params).fetchone()


def test_demo_prints_one_line_per_mart_with_rows(demo_output) -> None:
    marts = dict(re.findall(r"^mart (marts\.\w+) rows=(\d+)$", demo_output, flags=re.M))
    assert {
        "marts.fct_indicator_observation",
        "marts.dim_document",
        "marts.fct_funding",
        "marts.fct_event",
        "marts.dim_geo",
        "marts.dim_indicator",
    } <= set(marts)
    assert all(int(rows) > 0 for rows in marts.values())
    assert "Germany" in demo_output and "-21.5" in demo_output  # 62.6 non-EU vs 84.1 nationals in 2024


def test_indicator_mart_holds_real_eurostat_values(demo_output, warehouse_dsn) -> None:
    q = """select observation_value, observation_flags, unit from marts.fct_indicator_observation
           where indicator_id = %s and geo_code = %s and time_period = %s and population_group = %s and sex = %s"""
    assert one(warehouse_dsn, q, "employment_rate", "DE", "2024", "NEU27_2020_FOR", "T") == (62.6, None, "percent")
    assert one(warehouse_dsn, q, "employment_rate", "DE", "2021", "NAT", "T") == (81.8, "b", "percent")
    assert one(warehouse_dsn, q, "population_by_citizenship", "FR", "2015", "MA", "T") == (458561, None, "persons")
    assert one(warehouse_dsn, "select geo_name, iso_alpha2 from marts.dim_geo where geo_code = 'EL'") == (
        "Greece",
        "GR",
    )


def test_demo_quarantines_a_broken_batch_and_keeps_the_marts(demo_output, warehouse_dsn) -> None:
    line = next(line for line in demo_output.splitlines() if line.startswith("quality gate drill:"))
    kept = re.search(
        r"raw rows of eurostat_lfsa_urgan (\d+) -> (\d+); "
        r"marts.fct_indicator_observation rows (\d+) -> (\d+)",
        line,
    )
    assert " quarantined " in line and kept[1] == kept[2] and kept[3] == kept[4] and int(kept[1]) > 0
    status, reason = one(
        warehouse_dsn,
        """select status, message from audit.batch
                                           where load_id = 'eurostat_lfsa_urgan__20260401_010000'""",
    )
    assert status == "quarantined" and "expect_column_values_to_be_between(value)" in reason
    assert one(
        warehouse_dsn,
        """select count(*) from quarantine."eurostat_lfsa_urgan__20260401_010000"
                                 where value = 180""",
    ) == (1,)


def test_report_funding_and_event_marts(demo_output, warehouse_dsn) -> None:
    titles = {
        row
        for (row,) in psycopg.connect(warehouse_dsn).execute("select document_title from marts.dim_document").fetchall()
    }
    assert "Mediterranean City-to-City Migration" in titles and len(titles) == 3
    assert one(
        warehouse_dsn,
        """select amount_original::text, currency_code, amount_eur::text from marts.fct_funding
                                 where operation_title = 'Pflegehilfe mit integrierter Deutsch-Förderung'""",
    ) == ("91100.16", "EUR", "91100.16")
    start, tzid = one(
        warehouse_dsn,
        """select event_start_utc, event_original_tzid from marts.fct_event
                                        where event_uid = 'ai1ec-1441@blog.fablab-cottbus.de'""",
    )
    assert start == datetime(2016, 12, 3, 13, 0, tzinfo=UTC) and tzid == "Europe/Berlin"


def test_every_source_has_one_published_batch_and_no_duplicates(demo_output, warehouse_dsn) -> None:
    from observatory.config.registry import load_registry

    with psycopg.connect(warehouse_dsn) as conn:
        published = dict(
            conn.execute(
                """select source_id, count(*) from audit.batch
               where status = 'published' and logical_date = '2026-04-01T00:00:00Z' group by 1"""
            ).fetchall()
        )
        dupes = conn.execute("""select count(*) from (select 1 from marts.fct_indicator_observation
                                group by indicator_observation_id having count(*) > 1) d""").fetchone()[0]
    assert published == {source_id: 1 for source_id in load_registry().sources}
    assert dupes == 0


def test_scoreboard_gap_from_real_lfsa_files(demo_output, warehouse_dsn) -> None:
    """Germany 2024: non-EU 62.6 vs nationals 84.1 (lfsa_ergan); 2019: 60.3 vs 82.7; EU-27 2024: 64.2 vs 76.7."""
    row = one(
        warehouse_dsn,
        """select period_used, migrant_value, reference_value, gap, gap_5y_earlier, gap_change_5y,
                                       eu27_gap, rank_among_countries is not null
                                from marts.mart_integration_scoreboard
                                where geo_code = 'DE' and indicator_id = 'employment_rate'""",
    )
    assert row == ("2024", 62.6, 84.1, -21.5, -22.4, 0.9, -12.5, True)
    unemployment = one(
        warehouse_dsn,
        """select gap from marts.mart_integration_scoreboard
                                         where geo_code = 'EU27_2020' and indicator_id = 'unemployment_rate'""",
    )
    assert unemployment == (7.2,)  # lfsa_urgan 2024: 12.3 non-EU vs 5.1 nationals


def test_scoreboard_ranks_member_states_in_one_reference_year(demo_output, warehouse_dsn) -> None:
    """lfsa_ergan: all 27 member states have a 2024 gap, so 2024 is the reference year and all 27 are ranked;
    Switzerland (-18.3 in 2024) and the EU-27 aggregate are shown with their own latest period but not ranked."""
    q = """select period_used, reference_year, is_ranked, countries_ranked, rank_missing_reason, comparison_family,
                  indicator_group
           from marts.mart_integration_scoreboard where indicator_id = 'employment_rate' and geo_code = %s"""
    assert one(warehouse_dsn, q, "DE") == ("2024", "2024", True, 27, None, "citizenship", "employment_rate")
    assert one(warehouse_dsn, q, "CH")[:5] == ("2024", None, False, None, "not an EU-27 member state")
    assert one(warehouse_dsn, q, "EU27_2020")[2:5] == (False, None, "aggregate, not a single country or region")
    ranks = one(
        warehouse_dsn,
        """select count(*), count(distinct rank_among_countries), max(rank_among_countries)
           from marts.mart_integration_scoreboard where indicator_id = 'employment_rate' and is_ranked""",
    )
    assert ranks[0] == 27 and ranks[2] <= 27
    families = one(
        warehouse_dsn,
        """select count(*), count(*) filter (where comparison_family = 'country_of_birth'),
                  count(distinct indicator_group)
           from marts.dim_indicator""",
    )
    assert families[0] >= 20 and families[1] >= 8 and families[2] < families[0]


def test_demo_checks_freshness_and_prints_the_data_health(demo_output, warehouse_dsn) -> None:
    """The data_health DAG ran (real Airflow, cosmos `dbt source freshness`): every entry was just collected, so
    fresh; the source of the quality-gate drill is in error, its last batch being the quarantined one."""
    from observatory.config.registry import load_registry

    health = dict(re.findall(r"^health (\w+) status=(\w+) freshness=pass ", demo_output, flags=re.M))
    assert set(health) == set(load_registry().sources)
    assert health.pop("eurostat_lfsa_urgan") == "error"
    assert set(health.values()) == {"ok"}
    with psycopg.connect(warehouse_dsn) as conn:
        stored = conn.execute("""select count(distinct source_id), count(*) filter (where status <> 'pass')
                                 from audit.source_freshness""").fetchone()
        quarantined = conn.execute(
            """select quarantined_last_7_days, expectations_failed > 0 from audit.data_health
               where health_date = '2026-04-01' and source_id = 'eurostat_lfsa_urgan'"""
        ).fetchone()
    assert stored == (len(load_registry().sources), 0)
    assert quarantined == (1, True)


def test_demo_renders_the_indicator_report_and_says_where(demo_output) -> None:
    from pathlib import Path

    path = Path(re.search(r"^indicator report \(.*\): (\S+)$", demo_output, flags=re.M)[1])
    html = path.read_text(encoding="utf-8")
    assert path.name == "index.html" and "<svg" in html and "Germany" in html


def test_demo_marts_hold_real_indicators_across_domains_cities_and_profiles(demo_output, warehouse_dsn) -> None:
    """Issue 13's acceptance on the demo: at least 7 catalogue indicators with real observations across at least
    three domains, at least 300 cities in dim_geo, a foreign-born population for at least 200 city profiles, and
    a profile for every engaged city that the Urban Audit covers."""
    indicators, domains = one(
        warehouse_dsn,
        """select count(distinct o.indicator_id), count(distinct i.indicator_domain)
           from marts.fct_indicator_observation as o join marts.dim_indicator as i using (indicator_id)""",
    )
    assert indicators >= 7 and domains >= 3
    cities = one(warehouse_dsn, "select count(*) from marts.dim_geo where geo_level in ('city', 'greater_city')")
    assert cities[0] >= 300
    profiles = one(
        warehouse_dsn,
        """select count(*), count(foreign_born_population), count(*) filter (where foreign_born_share is null
                  and foreign_born_share_missing_reason like 'no total population (urb_cpop1 DE1001V)%%')
           from marts.mart_city_profile""",
    )
    assert profiles[1] >= 200 and profiles[2] == profiles[1]  # no denominator collected: every share NULL, said why
    missing = one(
        warehouse_dsn,
        """select count(*) from marts.mart_city_engagement as e
           where e.geonames_id in (select g.geonames_id from marts.dim_geo as g
                                   where g.geo_level in ('city', 'greater_city'))
             and e.geonames_id not in (select p.geonames_id from marts.mart_city_profile as p
                                       where p.geonames_id is not null)""",
    )
    assert missing == (0,)
    cologne = one(
        warehouse_dsn,
        """select foreign_born_year, foreign_born_population, foreign_born_flags, foreign_born_change_flag
           from marts.mart_city_profile where geo_code = 'DE004C'""",
    )
    assert cologne == (2021, 16000, "e", True)  # the real file's 2021 break, surfaced


def test_demo_marks_sample_figures_in_marts_and_output(demo_output, warehouse_dsn) -> None:
    assert re.search(r"^sample marts\.fct_funding rows=\d+ of \d+$", demo_output, flags=re.M)
    sample, real = one(
        warehouse_dsn,
        """select count(*) filter (where is_sample), count(*) filter (where not is_sample) from marts.fct_funding""",
    )
    assert sample > 0 and real == 0  # every bundled funding list is written for the project
    observations = one(
        warehouse_dsn, "select count(*), count(*) filter (where is_sample) from marts.fct_indicator_observation"
    )
    assert observations[0] > 0 and observations[1] == 0  # every Eurostat file is real
    events = one(
        warehouse_dsn,
        "select count(*) filter (where is_sample), count(*) filter (where not is_sample) from marts.fct_event",
    )
    assert events[0] > 0 and events[1] > 0  # the written Prague pages vs the real calendars and reports
