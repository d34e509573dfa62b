"""The registry's EU cohesion open-data entry (Socrata, offset paging) through the real pipeline: it pages through
the sample server on localhost, loads every record exactly with its own country (Italian and French records from one
unfiltered entry), and a rerun replaces them without duplicates."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime
from decimal import Decimal

import psycopg

from observatory import pipeline
from observatory.config.settings import Settings
from observatory_dev.sample_server import serve_directory

SOURCE = "funding_cohesion_eu_operations"
DAY = datetime(2026, 3, 1, tzinfo=UTC)
RESOURCE = "/funding/cohesiondata/resource/557j-pmg8.json?$order=:id&$limit=4&$offset="


def rows(dsn: str, query: str, *params) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(query, params).fetchall()


def test_pages_through_the_sample_server_and_loads_exact_amounts(warehouse_dsn, sample_base_url, landing_dir) -> None:
    assert pipeline.run_source(SOURCE, DAY) == 9
    fetched = rows(
        warehouse_dsn,
        """select resource, outcome, http_status from audit.fetch_log
                                     where load_id = %s order by fetch_id""",
        pipeline.load_id_for(SOURCE, DAY),
    )
    assert fetched == [(f"{sample_base_url}{RESOURCE}{offset}", "fetched", 200) for offset in (0, 4, 8)]
    loaded = rows(
        warehouse_dsn,
        """select beneficiary_name, amount, currency, start_date, end_date, cofinancing_rate,
                                           location_code, location_name, country_code, fund, programme, city_name,
                                           geonames_id
                                    from raw.funding_operation where source_id = %s order by amount desc""",
        SOURCE,
    )
    assert [(name, amount) for name, amount, *_ in loaded] == [
        ("Città metropolitana di Bologna", Decimal("3120400.35")),
        ("Comune di Milano", Decimal("1250000.50")),
        ("Comune di Napoli", Decimal("654321.10")),
        ("Cooperativa Sociale Il Ponte", Decimal("412906.80")),
        ("Ville de Lyon", Decimal("310000.00")),
        ("Comune di Torino", Decimal("238750.00")),
        ("Roma Capitale", Decimal("98765.43")),
        ("Métropole Européenne de Lille", Decimal("98000.00")),
        ("Fondazione Lavoro Insieme", Decimal("87340.05")),
    ]
    countries = {row[0]: row[8] for row in loaded}
    assert {name for name, country in countries.items() if country == "FR"} == {
        "Ville de Lyon",
        "Métropole Européenne de Lille",
    }
    assert sum(country == "IT" for country in countries.values()) == 7
    milan = next(row for row in loaded if row[0] == "Comune di Milano")
    assert milan[2:] == (
        "EUR",
        date(2016, 3, 1),
        date(2018, 12, 31),
        Decimal("50.0000"),
        "ITC4C",
        "Milano",
        "IT",
        "ESF",
        "POR Lombardia FSE 2014-2020",
        "Milan",
        3173435,
    )
    brescia = next(row for row in loaded if row[0] == "Fondazione Lavoro Insieme")
    assert (brescia[4], brescia[11]) == (None, "Brescia")  # the API leaves an empty end date out
    rome = next(row for row in loaded if row[0] == "Roma Capitale")
    assert (rome[7], rome[11]) == ("Roma", None)  # the gazetteer skips alternate names that are given names
    assert rows(warehouse_dsn, "select sum(amount) from raw.funding_operation where source_id = %s", SOURCE) == [
        (Decimal("6270484.23"),)  # 5 862 484.23 in Italy, 408 000.00 in France
    ]
    assert rows(warehouse_dsn, "select count(*) from audit.rejected_record where source_id = %s", SOURCE) == [(0,)]


def test_rerun_is_idempotent(warehouse_dsn, sample_base_url, landing_dir) -> None:
    first = pipeline.run_source(SOURCE, DAY)
    second = pipeline.run_source(SOURCE, DAY)
    later = pipeline.run_source(SOURCE, datetime(2026, 4, 1, tzinfo=UTC))
    [(count, keys, load_ids, total)] = rows(
        warehouse_dsn,
        """select count(*), count(distinct operation_key), array_agg(distinct load_id), sum(amount)
                          from raw.funding_operation where source_id = %s""",
        SOURCE,
    )
    assert first == second == later == count == keys == 9
    assert load_ids == [pipeline.load_id_for(SOURCE, datetime(2026, 4, 1, tzinfo=UTC))]
    assert total == Decimal("6270484.23")
    statuses = rows(
        warehouse_dsn,
        """select status, row_count from audit.batch where source_id = %s
                                      order by logical_date""",
        SOURCE,
    )
    assert statuses == [("published", 9), ("published", 9)]


def test_a_record_whose_country_is_unknown_is_rejected_and_the_rest_loads(
    warehouse_dsn, sample_base_url, landing_dir, tmp_path, monkeypatch
) -> None:
    directory = tmp_path / "sample_data"
    shutil.copytree(Settings.from_env().sample_data_dir / "funding", directory / "funding")
    resource = directory / "funding" / "cohesiondata" / "resource" / "557j-pmg8.json"
    records = json.loads(resource.read_text(encoding="utf-8"))
    records[1]["country"] = "Atlantis"  # Ville de Lyon
    records[4]["country"] = "Czechia"  # Comune di Torino, for the test's sake
    resource.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    server, base_url = serve_directory(directory)
    monkeypatch.setenv("OBSERVATORY_SAMPLE_BASE_URL", base_url)
    load_id = pipeline.load_id_for(SOURCE, DAY)
    try:
        assert pipeline.stage(SOURCE, load_id, pipeline.fetch(SOURCE, DAY)) == 8  # 1 of 9 rejected: the gate's
    finally:  # max_rejected_share (5 %) would quarantine this batch, the parser's part ends at the stage table
        server.shutdown()
    rejected = rows(
        warehouse_dsn,
        "select resource, location, reason, raw_record from audit.rejected_record where load_id = %s",
        load_id,
    )
    assert [(resource, location, reason) for resource, location, reason, _ in rejected] == [
        (
            f"{base_url}{RESOURCE}0",
            "record 2",
            "country_field country: 'Atlantis' is not a country the parser knows (add it to the entry's country_names)",
        )
    ]
    assert '"beneficiary_name": "Ville de Lyon"' in rejected[0][3]
    countries = rows(
        warehouse_dsn,
        f"""select country_code, count(*) from stage."{load_id}" group by country_code order by country_code""",
    )
    assert countries == [("CZ", 1), ("FR", 1), ("IT", 6)]
