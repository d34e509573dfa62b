"""The registry's EU cohesion open-data entry (Socrata, offset paging) through the real pipeline: it pages through
the sample server on localhost, loads the Italian records exactly, and a rerun replaces them without duplicates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import psycopg

from observatory import pipeline

SOURCE = "funding_cohesion_eu_operations"
DAY = datetime(2026, 3, 1, tzinfo=UTC)
RESOURCE = "/funding/cohesiondata/resource/557j-pmg8.json?country=Italy&$order=:id&$limit=3&$offset="


def rows(dsn: str, query: str, *params) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(query, params).fetchall()


def test_pages_through_the_sample_server_and_loads_exact_amounts(warehouse_dsn, sample_base_url, landing_dir) -> None:
    assert pipeline.run_source(SOURCE, DAY) == 7
    fetched = rows(
        warehouse_dsn,
        """select resource, outcome, http_status from audit.fetch_log
                                     where load_id = %s order by fetch_id""",
        pipeline.load_id_for(SOURCE, DAY),
    )
    assert fetched == [(f"{sample_base_url}{RESOURCE}{offset}", "fetched", 200) for offset in (0, 3, 6)]
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
        ("Comune di Torino", Decimal("238750.00")),
        ("Roma Capitale", Decimal("98765.43")),
        ("Fondazione Lavoro Insieme", Decimal("87340.05")),
    ]
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
        (Decimal("5862484.23"),)
    ]


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
    assert first == second == later == count == keys == 7
    assert load_ids == [pipeline.load_id_for(SOURCE, datetime(2026, 4, 1, tzinfo=UTC))]
    assert total == Decimal("5862484.23")
    statuses = rows(
        warehouse_dsn,
        """select status, row_count from audit.batch where source_id = %s
                                      order by logical_date""",
        SOURCE,
    )
    assert statuses == [("published", 7), ("published", 7)]
