"""The incremental fct_indicator_observation against the real PostgreSQL and dbt: batches are published through the
real write-audit-publish path (stage, publish in one transaction), then `dbt run` rebuilds only the sources whose
batch (or catalogue entry, or sample flag) changed, leaves every other row physically untouched (same xmin, ctid
and dbt_built_at), mirrors raw (a vanished source loses its rows), keeps the newest vintage between sources that
publish the same cells, always equals the full computation (int_indicator_observations_matched), and a concurrent
BI reader never sees a source missing or doubled while a run replaces it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from observatory.warehouse.load import publish_batch, stage_rows
from observatory_dev.docs_site import dbt_command

pytestmark = pytest.mark.integration

FCT = "marts.fct_indicator_observation"
# (dataset, dimension filter of its indicator, population dimension) from the seed indicator_catalogue
EMPLOYMENT = ("lfsa_ergan", {"unit": "PC", "age": "Y20-64"}, "citizen")  # employment_rate
ACTIVITY = ("lfsa_argan", {"unit": "PC", "age": "Y20-64"}, "citizen")  # activity_rate
NATURALISATION = ("migr_acqs", {"unit": "PC", "sex": "T"}, "citizen")  # naturalisation_rate
UNEMPLOYMENT_BIRTH = ("lfsa_urgacob", {"unit": "PC", "age": "Y20-64"}, "c_birth")  # unemployment_rate_birth
EMPLOYMENT_BIRTH = ("lfsa_ergacob", {"unit": "PC", "age": "Y20-64"}, "c_birth")  # employment_rate_birth
GROUPS = ("NAT", "NEU27_2020_FOR", "EU27_2020_FOR", "FOR")
GEOS = ("DE", "FR", "IT", "ES", "BE", "NL")


def cells(dataset, years: Iterable[int], geos=GEOS, value=50.0, updated: str | None = None) -> list[tuple]:
    """Raw rows (raw.eurostat_observation column order) of one dataset: every geo × year × group × sex."""
    code, dimension_filter, population = dataset
    sexes = ("T",) if "sex" in dimension_filter else ("T", "M", "F")
    return [
        (
            code,
            json.dumps({"sex": sex, population: group} | dimension_filter),
            geo,
            str(year),
            value,
            None,
            updated,
            None,
        )
        for geo in geos
        for year in years
        for group in GROUPS
        for sex in sexes
    ]


def publish(dsn: str, source_id: str, batch: str, rows: list[tuple]) -> str:
    """Stage and publish a batch of the source as the pipeline does; returns its load_id."""
    load_id = f"{source_id}__{batch}"
    with psycopg.connect(dsn) as conn:
        stage_rows(conn, load_id, source_id, "eurostat_observation", rows)
        publish_batch(conn, load_id, source_id, "eurostat_observation")
        conn.execute(
            """insert into audit.registry_entry (source_id, kind, publisher, licence, is_sample, profiles)
               values (%s, 'indicators', 'Eurostat', 'CC BY 4.0', false, array['test'])
               on conflict (source_id) do nothing""",
            (source_id,),
        )
    return load_id


def query(dsn: str, sql: str, *params) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params or None).fetchall()


def mart_rows(dsn: str, source_id: str) -> list[tuple]:
    """The source's rows in the mart with their physical identity (xmin and ctid change when a row is rewritten)."""
    return query(
        dsn,
        f"""select xmin::text, ctid::text, dbt_built_at, indicator_observation_id, load_id, observation_value, unit
            from {FCT} where source_id = %s order by indicator_observation_id""",
        source_id,
    )


def differences_from_full_computation(dsn: str) -> int:
    """Rows in the mart but not in the full (non-incremental) computation, and the other way round."""
    columns = """indicator_id, geo_code, time_period, population_group, sex, age_group, observation_value,
                 observation_flags, unit, dataset_code, dataset_updated_at, source_id, load_id"""
    return query(
        dsn,
        f"""select count(*) from (
                (select {columns} from {FCT} except all
                 select {columns} from intermediate.int_indicator_observations_matched)
                union all
                (select {columns} from intermediate.int_indicator_observations_matched except all
                 select {columns} from {FCT})) as d""",
    )[0][0]


class Dbt:
    def __init__(self, dsn: str, target: Path) -> None:
        self.dsn, self.target = dsn, target

    def __call__(self, *args: str) -> str:
        result = dbt_command([*args, "--target-path", str(self.target)], self.dsn, check=False)
        assert result.returncode == 0, result.stdout[-6000:]
        return result.stdout

    def run_fct(self, *extra: str) -> str:
        return self("run", "--select", "fct_indicator_observation", *extra)


@pytest.fixture(scope="module")
def dbt(warehouse_dsn, tmp_path_factory) -> Dbt:
    """The warehouse with two sources published, after `dbt build` of the mart, its parents and their tests."""
    runner = Dbt(warehouse_dsn, tmp_path_factory.mktemp("incremental_marts") / "target")
    publish(warehouse_dsn, "test_employment", "b1", cells(EMPLOYMENT, range(2015, 2025)))
    publish(warehouse_dsn, "test_activity", "b1", cells(ACTIVITY, range(2015, 2025)))
    runner(
        "build",
        "--select",
        "+fct_indicator_observation +int_indicator_observations_matched",
        "--exclude",
        "test_name:relationships",  # dim_geo is not built here
    )
    return runner


def test_republished_source_replaces_exactly_its_rows(dbt, warehouse_dsn) -> None:
    employment_before, activity_before = (
        mart_rows(warehouse_dsn, "test_employment"),
        mart_rows(warehouse_dsn, "test_activity"),
    )
    assert len(employment_before) == len(activity_before) == 6 * 10 * 4 * 3
    # a new release: 2024 revised, 2015 withdrawn, 2025 added
    revised = cells(EMPLOYMENT, range(2016, 2024)) + cells(EMPLOYMENT, [2024, 2025], value=61.5)
    load_id = publish(warehouse_dsn, "test_employment", "b2", revised)

    output = dbt.run_fct()

    employment_after = mart_rows(warehouse_dsn, "test_employment")
    assert "INSERT 0 720" in output  # only the republished source's rows were built
    assert len(employment_after) == len(revised) == 720
    assert {row[4] for row in employment_after} == {load_id}
    assert query(
        warehouse_dsn,
        f"""select time_period, observation_value, count(*) from {FCT} where source_id = 'test_employment'
            and time_period in ('2015', '2023', '2024', '2025') group by 1, 2 order by 1""",
    ) == [("2023", 50.0, 72), ("2024", 61.5, 72), ("2025", 61.5, 72)]
    assert not {row[0] for row in employment_after} & {row[0] for row in employment_before}  # all rewritten
    assert mart_rows(warehouse_dsn, "test_activity") == activity_before  # untouched: same xmin, ctid, dbt_built_at
    assert query(warehouse_dsn, f"select count(*), count(distinct indicator_observation_id) from {FCT}") == [
        (1440, 1440)
    ]
    assert differences_from_full_computation(warehouse_dsn) == 0


def test_unchanged_run_rewrites_nothing(dbt, warehouse_dsn) -> None:
    before = query(warehouse_dsn, f"select xmin::text, ctid::text, dbt_built_at from {FCT} order by ctid")
    assert "INSERT 0 0" in dbt.run_fct()
    assert query(warehouse_dsn, f"select xmin::text, ctid::text, dbt_built_at from {FCT} order by ctid") == before


def test_catalogue_and_sample_flag_changes_rebuild_only_their_sources(dbt, warehouse_dsn) -> None:
    employment_before = mart_rows(warehouse_dsn, "test_employment")
    with psycopg.connect(warehouse_dsn) as conn:  # what `dbt seed` does with an edited indicator_catalogue.csv
        conn.execute(
            "update reference.indicator_catalogue set unit = 'percent of population' where dataset_code = %s",
            (ACTIVITY[0],),
        )
    try:
        dbt.run_fct()
        activity = mart_rows(warehouse_dsn, "test_activity")
        assert {row[6] for row in activity} == {"percent of population"} and len(activity) == 720
        assert mart_rows(warehouse_dsn, "test_employment") == employment_before
    finally:
        with psycopg.connect(warehouse_dsn) as conn:
            conn.execute(
                "update reference.indicator_catalogue set unit = 'percent' where dataset_code = %s", (ACTIVITY[0],)
            )
    dbt.run_fct()
    assert {row[6] for row in mart_rows(warehouse_dsn, "test_activity")} == {"percent"}
    assert mart_rows(warehouse_dsn, "test_employment") == employment_before

    activity_before = mart_rows(warehouse_dsn, "test_activity")
    with psycopg.connect(warehouse_dsn) as conn:  # the registry entry now says the file was written for the project
        conn.execute("update audit.registry_entry set is_sample = true where source_id = 'test_employment'")
    dbt.run_fct()
    assert query(warehouse_dsn, f"select distinct is_sample from {FCT} where source_id = 'test_employment'") == [
        (True,)
    ]
    assert mart_rows(warehouse_dsn, "test_activity") == activity_before
    assert differences_from_full_computation(warehouse_dsn) == 0


def test_removed_indicator_and_vanished_source_lose_their_rows(dbt, warehouse_dsn) -> None:
    publish(warehouse_dsn, "test_naturalisation", "b1", cells(NATURALISATION, range(2020, 2025)))
    dbt.run_fct()
    assert len(mart_rows(warehouse_dsn, "test_naturalisation")) == 6 * 5 * 4
    activity_before = mart_rows(warehouse_dsn, "test_activity")
    with psycopg.connect(warehouse_dsn) as conn:  # the source is purged from raw (no longer in the registry)
        conn.execute("delete from raw.eurostat_observation where source_id = 'test_naturalisation'")
    dbt.run_fct()
    assert mart_rows(warehouse_dsn, "test_naturalisation") == []
    assert mart_rows(warehouse_dsn, "test_activity") == activity_before
    assert differences_from_full_computation(warehouse_dsn) == 0


def test_sources_publishing_the_same_cells_keep_the_newest_vintage(dbt, warehouse_dsn) -> None:
    """Two sources of one dataset overlap on 2020-2022: the newer `updated` stamp wins each cell; when the losing
    source is republished with a newer stamp, both are rebuilt and the cells change hands, without duplicates;
    when its new batch yields no cell at all (another dataset), its old rows go and the other's come back."""
    old, new = "2026-01-01T00:00:00+00:00", "2026-06-01T00:00:00+00:00"
    publish(warehouse_dsn, "test_birth_full", "b1", cells(UNEMPLOYMENT_BIRTH, range(2015, 2023), updated=old))
    publish(
        warehouse_dsn, "test_birth_recent", "b1", cells(UNEMPLOYMENT_BIRTH, range(2020, 2025), value=7.0, updated=new)
    )
    dbt.run_fct()
    owners = f"""select source_id, count(*) from {FCT} where dataset_code = '{UNEMPLOYMENT_BIRTH[0]}'
                 group by 1 order by 1"""
    assert query(warehouse_dsn, owners) == [("test_birth_full", 5 * 72), ("test_birth_recent", 5 * 72)]

    publish(warehouse_dsn, "test_birth_full", "b2", cells(UNEMPLOYMENT_BIRTH, range(2015, 2023), updated="2026-07-01"))
    dbt.run_fct()
    assert query(warehouse_dsn, owners) == [("test_birth_full", 8 * 72), ("test_birth_recent", 2 * 72)]
    assert differences_from_full_computation(warehouse_dsn) == 0

    publish(warehouse_dsn, "test_birth_full", "b3", [("no_such_dataset", "{}", "DE", "2020", 1.0, None, None, None)])
    dbt.run_fct()
    assert query(warehouse_dsn, owners) == [("test_birth_recent", 5 * 72)]
    assert query(warehouse_dsn, f"select count(*) - count(distinct indicator_observation_id) from {FCT}") == [(0,)]
    assert differences_from_full_computation(warehouse_dsn) == 0


INDICATOR_MARTS = ("fct_indicator_observation", "dim_indicator", "dim_period", "mart_integration_scoreboard")


def with_gap(rows: list[tuple], nationals: float) -> list[tuple]:
    """The rows with the nationals' (NAT) value set to `nationals`, so the groups differ by a gap."""
    return [(*row[:4], nationals, *row[5:]) if '"NAT"' in row[1] else row for row in rows]


def indicator_marts(dsn: str) -> dict[str, list[tuple]]:
    """Every row of the indicator marts in a fixed order, without the build stamp `dbt_built_at`."""
    content = {}
    with psycopg.connect(dsn) as conn:
        for mart in INDICATOR_MARTS:
            table = sql.Identifier("marts", mart)
            cursor = conn.execute(sql.SQL("select * from {} limit 0").format(table))
            columns = sql.SQL(", ").join(
                sql.Identifier(d.name) for d in cursor.description or () if d.name != "dbt_built_at"
            )
            content[mart] = conn.execute(sql.SQL("select {0} from {1} order by {0}").format(columns, table)).fetchall()
    return content


def test_incremental_build_equals_a_full_refresh(dbt, warehouse_dsn) -> None:
    """After one source is republished and another appears, `dbt build` (the incremental fact mart) leaves the
    indicator marts row for row as `dbt build --full-refresh` builds them."""
    marts = "+fct_indicator_observation +int_indicator_observations_matched +mart_integration_scoreboard"
    selection = (
        *("--select", f"{marts} +dim_period +dim_indicator"),
        *("--indirect-selection", "cautious", "--exclude-resource-type", "unit_test"),
    )
    revised = with_gap(cells(EMPLOYMENT, range(2016, 2026), value=58.5), 76.0)
    publish(warehouse_dsn, "test_employment", "g1", revised)
    publish(warehouse_dsn, "test_employment_birth", "g1", with_gap(cells(EMPLOYMENT_BIRTH, range(2018, 2025)), 71.0))

    output = dbt("build", *selection)
    incremental = indicator_marts(warehouse_dsn)
    dbt("build", "--full-refresh", *selection)

    assert f"INSERT 0 {len(revised) + 6 * 7 * 4 * 3}" in output  # only the two changed sources' rows were built
    scoreboard_de = [row for row in incremental["mart_integration_scoreboard"] if row[:2] == ("DE", "employment_rate")]
    assert [(row[6], row[15]) for row in scoreboard_de] == [("2025", -17.5)]  # period_used, gap (58.5 - 76.0)
    assert incremental == indicator_marts(warehouse_dsn)


WRITER_LOCKS = """select exists (select from pg_locks as l join pg_class as c on c.oid = l.relation
                                    where c.relname like 'fct_indicator_observation%%' and l.pid <> pg_backend_pid()
                                      and l.mode in ('RowExclusiveLock', 'AccessExclusiveLock'))"""


class Reader(threading.Thread):
    """A BI query in a loop (autocommit: each read in its own snapshot): the mart's row count and load ids per
    source, and whether a dbt transaction was writing the mart at that moment."""

    def __init__(self, dsn: str) -> None:
        super().__init__(daemon=True)
        self.dsn, self.stop = dsn, threading.Event()
        self.reads: list[dict[str, tuple[int, tuple[str, ...]]]] = []
        self.during_write, self.errors = 0, []

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.stop.is_set():
                try:
                    writing = conn.execute(WRITER_LOCKS).fetchone()[0]
                    rows = conn.execute(
                        f"select source_id, count(*), array_agg(distinct load_id) from {FCT} group by 1"
                    ).fetchall()
                    self.reads.append({source: (count, tuple(loads)) for source, count, loads in rows})
                    self.during_write += writing
                except psycopg.Error as error:  # a missing relation would land here
                    self.errors.append(str(error))
                time.sleep(0.002)


def per_source(dsn: str) -> dict[str, tuple[int, tuple[str, ...]]]:
    rows = query(dsn, f"select source_id, count(*), array_agg(distinct load_id) from {FCT} group by 1")
    return {source: (count, tuple(loads)) for source, count, loads in rows}


@pytest.mark.parametrize("full_refresh", [False, True], ids=["incremental", "full_refresh"])
def test_concurrent_reader_always_sees_a_complete_mart(dbt, warehouse_dsn, full_refresh) -> None:
    """150,000 observations of one source republished; a reader queries the mart throughout the dbt run (an
    incremental one, and `--full-refresh`, which swaps a new table in): every read shows the source complete, from
    the old batch or the new one, never missing, half-built or doubled, and every other source unchanged."""
    mode = "full" if full_refresh else "incremental"
    big = cells(EMPLOYMENT_BIRTH, range(1900, 2025), geos=tuple(f"X{i:03d}" for i in range(100)))
    old = publish(warehouse_dsn, "test_big", f"{mode}1", big)
    dbt.run_fct()
    new = publish(warehouse_dsn, "test_big", f"{mode}2", big)  # republished: the next run replaces all its rows
    before = per_source(warehouse_dsn)
    assert before["test_big"] == (len(big), (old,))
    reader = Reader(warehouse_dsn)
    reader.start()
    time.sleep(0.3)
    dbt.run_fct(*(["--full-refresh"] if full_refresh else []))
    time.sleep(0.3)
    reader.stop.set()
    reader.join(10)

    assert reader.errors == []
    assert len(reader.reads) > 50 and reader.during_write > 0  # some reads while dbt's transaction was open
    assert {read["test_big"] for read in reader.reads} == {(len(big), (old,)), (len(big), (new,))}
    loads = [read["test_big"][1] for read in reader.reads]
    assert loads == sorted(loads, key=lambda load: load == (new,))  # old, then new: never back
    for read in reader.reads:
        assert {source: count for source, (count, _) in read.items()} == {
            source: count for source, (count, _) in before.items()
        }
    assert per_source(warehouse_dsn)["test_big"] == (len(big), (new,))
    assert differences_from_full_computation(warehouse_dsn) == 0
