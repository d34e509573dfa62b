"""dim_geo and mart_city_profile on the real Urban Audit file: the committed urb_cpopcb export (SDMX-CSV 2.0 with
labels) goes through the real pipeline (landing, sdmx_csv parser, GX gate, publish) and `dbt build` builds the
seeds, dim_geo and mart_city_profile with their tests and unit tests on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import yaml

from observatory import pipeline
from observatory.config.settings import Settings
from observatory_dev.docs_site import dbt_command

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).resolve().parents[2]
CITY_FILE = PROJECT / "sample_data" / "eurostat" / "estat_urb_cpopcb_sdmxcsv2_labels.csv"
SOURCE_ID = "eurostat_urb_cpopcb_cities_test"
DAY = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def warehouse(warehouse_dsn, tmp_path_factory) -> str:
    """The warehouse after publishing the city file and `dbt build` of mart_city_profile and everything upstream."""
    work = tmp_path_factory.mktemp("city_profile")
    settings = Settings.from_env()
    registry = yaml.safe_load(settings.registry_path.read_text(encoding="utf-8"))
    registry["sources"][SOURCE_ID] = {
        "kind": "indicators",
        "format": "sdmx_csv",
        "description": "Urban Audit urb_cpopcb, foreign-born residents of cities (SDMX-CSV 2.0 with labels)",
        "publisher": "Eurostat",
        "licence": "CC BY 4.0",
        "suite": "eurostat_counts",
        "paths": [str(CITY_FILE)],
    }
    (work / "sources.yml").write_text(yaml.safe_dump(registry, allow_unicode=True), encoding="utf-8")
    settings = settings.replace(registry_path=work / "sources.yml", landing_dir=work / "landing")
    assert pipeline.run_source(SOURCE_ID, DAY, settings) == 4245
    result = dbt_command(
        [
            "build",
            "--target-path",
            str(work / "target"),
            "--select",
            "+mart_city_profile +dim_geo",
            "--indirect-selection",
            "cautious",
        ],
        warehouse_dsn,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-8000:]
    return warehouse_dsn


def rows(dsn: str, query: str, *params) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(query, params or None).fetchall()


def test_dim_geo_has_regions_and_cities_with_their_keys(warehouse) -> None:
    levels = dict(rows(warehouse, "select geo_level, count(*) from marts.dim_geo group by geo_level"))
    assert levels["nuts1"] == 125 and levels["nuts2"] == 334
    assert levels["city"] == 526 and levels["greater_city"] == 161
    assert levels.get("unknown", 0) == 0  # every code of the city file is known, countries included
    resolved = rows(
        warehouse,
        "select count(*) from marts.dim_geo where geo_level in ('city', 'greater_city') and geonames_id is not null",
    )
    assert resolved == [(659,)]
    members = rows(warehouse, "select geo_level, count(*) from marts.dim_geo where is_eu_member group by geo_level")
    assert members == [("country", 27)]
    cologne = rows(
        warehouse,
        "select geo_name, parent_geo_code, country_code, nuts2_code, geonames_id from marts.dim_geo"
        " where geo_code = 'DE004C'",
    )
    assert cologne == [("Köln", "DE", "DE", "DEA2", 2886242)]
    region = rows(
        warehouse, "select geo_name, parent_geo_code, country_code from marts.dim_geo where geo_code = 'DEA2'"
    )
    assert region == [("Köln", "DEA", "DE")]


def test_city_profile_has_one_row_per_city_and_keeps_the_quirks(warehouse) -> None:
    assert rows(warehouse, "select count(*), count(distinct geo_code) from marts.mart_city_profile") == [(687, 687)]
    assert rows(warehouse, "select count(*) from marts.mart_city_profile where geo_code = 'DE001C'") == [(0,)]  # Berlin
    cologne = rows(
        warehouse,
        """select foreign_born_population, foreign_born_year, foreign_born_flags, foreign_born_change_5y,
                  foreign_born_change_5y_base_year, foreign_born_change_flag, foreign_born_quality_note
           from marts.mart_city_profile where geo_code = 'DE004C'""",
    )
    [(population, year, flags, change, base_year, jump, note)] = cologne
    assert (population, year, flags, base_year, jump) == (16000, 2021, "e", 2016, True)
    assert change == 16000 - 262700
    assert "2020-2021: 277600 to 16000 (x0.06, flag e)" in note
    flagged = rows(warehouse, "select count(*) from marts.mart_city_profile where foreign_born_change_flag")
    assert 30 <= flagged[0][0] <= 80


def test_shares_and_foreign_citizens_are_null_with_reasons(warehouse) -> None:
    # the demo collects no urb_cpop1 total population and the export has no DE2012V: never a borrowed denominator
    [(shares, share_reasons, citizens, citizen_reasons)] = rows(
        warehouse,
        """select count(foreign_born_share),
                  count(*) filter (where foreign_born_share_missing_reason like '%urb_cpop1 DE1001V%'),
                  count(foreign_citizen_population),
                  count(*) filter (where foreign_citizen_missing_reason like '%DE2012V%')
           from marts.mart_city_profile""",
    )
    assert (shares, citizens) == (0, 0)
    assert share_reasons >= 680 and citizen_reasons == 687


def test_unresolved_cities_have_no_engagement_and_say_why(warehouse) -> None:
    brussels = rows(
        warehouse,
        """select geo_level, geonames_id, event_count, funding_operations_count, engagement_missing_reason
           from marts.mart_city_profile where geo_code in ('BE001C', 'UK055C') order by geo_code""",
    )
    assert brussels[0][:4] == ("greater_city", 2800866, 0, 0) and brussels[0][4] is None
    assert brussels[1][1:4] == (None, None, None) and "not resolved to GeoNames" in brussels[1][4]
