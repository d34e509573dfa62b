"""Incremental, idempotent loading of Eurostat API sources, against the real PostgreSQL, a localhost stand-in for
the Statistics API serving the real migr_pop1ctz response (filtered like the API filters it), and real Airflow."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import sqlite3
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import psycopg
import pytest
from werkzeug import Request, Response

from observatory import pipeline
from observatory.collect.eurostat import dataset_url
from observatory.config import registry
from observatory.parse import jsonstat
from observatory.warehouse.load import stage_arrays, stage_rows
from observatory_dev.generators.jsonstat import synthetic_cube

PROJECT = Path(__file__).resolve().parents[2]
POP1CTZ = json.loads((PROJECT / "sample_data/eurostat/eurostat_migr_pop1ctz_FR_by_citizen_jsonstat2.json").read_bytes())
DAY1, DAY2 = datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 5, 2, tzinfo=UTC)
MA_PT, FR = "estat_test_fr_ma_pt", "estat_test_fr"
REGISTRY = f"""
defaults:
  kind: indicators
  format: jsonstat
  collector: eurostat
  publisher: Eurostat
  suite: eurostat_counts
  freshness: {{warn_after_hours: 192, error_after_hours: 720}}
sources:
  {MA_PT}:
    description: Population on 1 January, France, citizens of Morocco and Portugal (Statistics API).
    collect:
      dataset: migr_pop1ctz
      filters: {{geo: FR, citizen: [MA, PT], sex: T, age: TOTAL, unit: NR}}
      since: "2014"
  {FR}:
    description: Population on 1 January, France, by citizenship (Statistics API).
    collect: {{dataset: migr_pop1ctz, filters: {{geo: FR}}}}
"""


def ma_pt_since_2014() -> dict:
    """What the API answers for the MA_PT source's filters."""
    years = [year for year in POP1CTZ["dimension"]["time"]["category"]["index"] if year >= "2014"]
    return filtered(filtered(POP1CTZ, "citizen", ["MA", "PT"]), "time", years)


def filtered(doc: dict, dimension: str, keep: list[str]) -> dict:
    """The cube cut down to the ``keep`` codes of one dimension and re-indexed, as the API answers a filter."""
    sizes, axis = doc["size"], doc["id"].index(dimension)
    category = doc["dimension"][dimension]["category"]
    old = [category["index"][code] for code in keep]
    new_sizes = [len(keep) if i == axis else size for i, size in enumerate(sizes)]

    def cut(member: dict) -> dict:
        out = {}
        for key, entry in member.items():
            position = list(np.unravel_index(int(key), sizes))
            if position[axis] in old:
                position[axis] = old.index(position[axis])
                out[str(np.ravel_multi_index(position, new_sizes))] = entry
        return out

    cube = copy.deepcopy(doc) | {"size": new_sizes, "value": cut(doc["value"]), "status": cut(doc["status"])}
    cube["dimension"][dimension]["category"] = {
        "index": {code: i for i, code in enumerate(keep)},
        "label": {code: category["label"][code] for code in keep},
    }
    return cube


def with_value(doc: dict, citizen: str, year: str, value: float, updated: str) -> dict:
    """The cube with one cell revised and a new ``updated`` stamp, as a new Eurostat release."""
    index = [doc["dimension"][dim]["category"]["index"] for dim in doc["id"]]
    position = [
        0 if dim not in ("citizen", "time") else index[i][citizen if dim == "citizen" else year]
        for i, dim in enumerate(doc["id"])
    ]
    revised = copy.deepcopy(doc) | {"updated": updated}
    revised["value"][str(np.ravel_multi_index(position, doc["size"]))] = value
    return revised


class EurostatApi:
    """The Statistics API on localhost: one payload per query string; ETag, Last-Modified and 304 answers
    unless ``conditional`` is off (then it sends neither and always answers 200)."""

    def __init__(self, httpserver) -> None:
        self.payloads: dict[str, bytes] = {}
        self.conditional = True
        self.exchanges: list[tuple[Request, int]] = []
        httpserver.expect_request("/statistics/1.0/data/migr_pop1ctz").respond_with_handler(self.respond)

    def serve(self, source_id: str, doc: dict | bytes, **dumps_options) -> None:
        source = registry.load_registry()[source_id]
        body = doc if isinstance(doc, bytes) else json.dumps(doc, **dumps_options).encode()
        self.payloads[urlsplit(dataset_url(source.collect, where=source_id)).query] = body

    def respond(self, request: Request) -> Response:
        body = self.payloads[request.query_string.decode()]
        headers = {}
        if self.conditional:
            updated = datetime.fromisoformat(json.loads(body)["updated"])
            headers = {
                "ETag": f'"{hashlib.sha256(body).hexdigest()[:20]}"',
                "Last-Modified": format_datetime(updated.astimezone(UTC), usegmt=True),
            }
        status = 304 if self.conditional and request.headers.get("If-None-Match") == headers["ETag"] else 200
        self.exchanges.append((request, status))
        return Response(b"" if status == 304 else body, status=status, headers=headers, content_type="application/json")


@pytest.fixture()
def api(warehouse_dsn, httpserver, landing_dir, tmp_path, monkeypatch) -> EurostatApi:
    """Two registry sources on migr_pop1ctz (no earlier state), their API serving the real response."""
    path = tmp_path / "sources.yml"
    path.write_text(REGISTRY)
    monkeypatch.setenv("OBSERVATORY_REGISTRY", str(path))  # read by Settings.from_env() in every step
    monkeypatch.setenv("EUROSTAT_API_BASE_URL", httpserver.url_for("").rstrip("/"))
    with psycopg.connect(warehouse_dsn) as conn:
        for table in ("raw.eurostat_observation", "audit.batch", "audit.fetch_log"):
            conn.execute(f"delete from {table} where source_id in (%s, %s)", (MA_PT, FR))
    server = EurostatApi(httpserver)
    server.serve(MA_PT, ma_pt_since_2014())
    server.serve(FR, POP1CTZ)
    return server


def published_rows(dsn: str, source_id: str) -> list[tuple]:
    """Every published row of the source with its physical identity (xmin changes when a row is rewritten)."""
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            """select xmin::text, ctid::text, load_id, dimensions->>'citizen', time_period, value, flags, loaded_at
               from raw.eurostat_observation where source_id = %s order by 4, 5, ctid""",
            (source_id,),
        ).fetchall()


def batch(dsn: str, source_id: str, day: datetime) -> tuple:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "select status, row_count, message from audit.batch where load_id = %s",
            (pipeline.load_id_for(source_id, day),),
        ).fetchone()


def value_of(rows: list[tuple], citizen: str, year: str) -> float:
    return next(row[5] for row in rows if row[3:5] == (citizen, year))


def test_filtered_dataset_is_requested_as_the_api_expects_and_published(api, warehouse_dsn) -> None:
    assert pipeline.run_source(MA_PT, DAY1) == 16  # MA 2015-2018, PT 2014-2025
    request, status = api.exchanges[0]
    assert request.args.getlist("citizen") == ["MA", "PT"] and status == 200
    assert {key: request.args[key] for key in ("format", "lang", "geo", "sinceTimePeriod")} == {
        "format": "JSON",
        "lang": "EN",
        "geo": "FR",
        "sinceTimePeriod": "2014",
    }
    assert "If-None-Match" not in request.headers
    rows = published_rows(warehouse_dsn, MA_PT)
    assert value_of(rows, "MA", "2015") == 458561.0 and value_of(rows, "PT", "2015") == 541867.0
    assert batch(warehouse_dsn, MA_PT, DAY1)[:2] == ("published", 16)


def test_unchanged_rerun_rewrites_nothing(api, warehouse_dsn) -> None:
    first = pipeline.run_source(FR, DAY1)
    before = published_rows(warehouse_dsn, FR)
    second = pipeline.run_source(FR, DAY2)

    (_, first_status), (request, second_status) = api.exchanges
    assert (first_status, second_status) == (200, 304)
    assert request.headers["If-None-Match"] and request.headers["If-Modified-Since"] == "Tue, 22 Sep 2026 21:00:00 GMT"
    assert first == second == 927
    assert published_rows(warehouse_dsn, FR) == before  # same rows, none rewritten (same xmin, ctid, loaded_at)
    assert {row[2] for row in before} == {pipeline.load_id_for(FR, DAY1)}
    status, row_count, message = batch(warehouse_dsn, FR, DAY2)
    assert (status, row_count) == ("unchanged", 927)
    assert message == f"unchanged: same content as batch {pipeline.load_id_for(FR, DAY1)}"
    with psycopg.connect(warehouse_dsn) as conn:
        fetches = conn.execute(
            "select http_status, content_sha256 from audit.fetch_log where source_id = %s order by fetch_id", (FR,)
        ).fetchall()
        staged = conn.execute("select to_regclass(%s)", (f'stage."{pipeline.load_id_for(FR, DAY2)}"',)).fetchone()
    assert [status for status, _ in fetches] == [200, 304] and fetches[0][1] == fetches[1][1]
    assert staged == (None,)
    with pytest.raises(pipeline.BatchUnchanged, match="same content"):
        pipeline.publish(FR, pipeline.load_id_for(FR, DAY2))


def test_unchanged_rerun_transfers_parses_and_loads_nothing(api, warehouse_dsn, monkeypatch) -> None:
    """On 200,000 observations shaped like migr_pop1ctz (observatory_dev.generators.jsonstat): the rerun gets a
    304, parses and stages nothing and leaves the published rows as they are (its cost is measured by `make bench`)."""
    api.serve(FR, synthetic_cube(200_000))
    assert pipeline.run_source(FR, DAY1) == 200_000
    before = published_rows(warehouse_dsn, FR)
    monkeypatch.setattr(pipeline, "parse_landed", forbidden)
    monkeypatch.setattr(pipeline, "parse_landed_arrays", forbidden)
    monkeypatch.setattr(pipeline, "stage_arrays", forbidden)
    monkeypatch.setattr(pipeline, "stage_rows", forbidden)
    assert pipeline.run_source(FR, DAY2) == 200_000
    assert [status for _, status in api.exchanges] == [200, 304]
    assert batch(warehouse_dsn, FR, DAY2)[:2] == ("unchanged", 200_000)
    assert published_rows(warehouse_dsn, FR) == before


def forbidden(*args, **kwargs):
    raise AssertionError("an unchanged batch must not be parsed or staged")


def test_rerun_of_the_published_interval_keeps_its_rows(api, warehouse_dsn) -> None:
    pipeline.run_source(FR, DAY1)
    before = published_rows(warehouse_dsn, FR)
    assert pipeline.run_source(FR, DAY1) == 927
    assert batch(warehouse_dsn, FR, DAY1)[:2] == ("unchanged", 927)
    assert pipeline.run_source(FR, DAY2) == 927  # the chain goes on from a batch found unchanged
    assert batch(warehouse_dsn, FR, DAY2)[0] == "unchanged"
    assert published_rows(warehouse_dsn, FR) == before


def test_same_bytes_without_validators_are_unchanged(api, warehouse_dsn) -> None:
    api.conditional = False
    pipeline.run_source(FR, DAY1)
    before = published_rows(warehouse_dsn, FR)
    pipeline.run_source(FR, DAY2)
    assert [status for _, status in api.exchanges] == [200, 200]
    assert batch(warehouse_dsn, FR, DAY2)[0] == "unchanged"
    assert published_rows(warehouse_dsn, FR) == before


def test_same_updated_stamp_is_unchanged_even_when_the_bytes_differ(api, warehouse_dsn) -> None:
    api.conditional = False
    pipeline.run_source(FR, DAY1)
    before = published_rows(warehouse_dsn, FR)
    api.serve(FR, POP1CTZ, indent=1)  # the same release, serialised differently
    pipeline.run_source(FR, DAY2)
    status, _, message = batch(warehouse_dsn, FR, DAY2)
    assert status == "unchanged" and "same dataset 'updated' stamp" in message
    assert published_rows(warehouse_dsn, FR) == before


def test_changed_payload_replaces_only_its_own_sources_rows(api, warehouse_dsn) -> None:
    for source_id in (MA_PT, FR):
        pipeline.run_source(source_id, DAY1)
    ma_pt_before, fr_before = published_rows(warehouse_dsn, MA_PT), published_rows(warehouse_dsn, FR)
    api.serve(MA_PT, with_value(ma_pt_since_2014(), "MA", "2015", 458999, updated="2026-10-20T23:00:00+0200"))
    for source_id in (MA_PT, FR):
        pipeline.run_source(source_id, DAY2)

    ma_pt_after = published_rows(warehouse_dsn, MA_PT)
    assert batch(warehouse_dsn, MA_PT, DAY2)[:2] == ("published", 16)
    assert {row[2] for row in ma_pt_after} == {pipeline.load_id_for(MA_PT, DAY2)}
    assert value_of(ma_pt_after, "MA", "2015") == 458999.0
    assert [row[3:7] for row in ma_pt_after if row[3:5] != ("MA", "2015")] == [
        row[3:7] for row in ma_pt_before if row[3:5] != ("MA", "2015")
    ]
    assert batch(warehouse_dsn, FR, DAY2)[0] == "unchanged"
    assert published_rows(warehouse_dsn, FR) == fr_before


def test_logical_dates_in_any_order_leave_no_duplicates(api, warehouse_dsn) -> None:
    pipeline.run_source(MA_PT, DAY2)
    api.serve(MA_PT, with_value(ma_pt_since_2014(), "PT", "2016", 1.0, updated="2026-10-20T23:00:00+0200"))
    pipeline.run_source(MA_PT, DAY1)  # a backfill of an earlier date after the upstream changed
    pipeline.run_source(MA_PT, DAY2)  # and the later date again
    with psycopg.connect(warehouse_dsn) as conn:
        rows, keys, load_ids = conn.execute(
            """select count(*), count(distinct (dataset_code, dimensions, geo, time_period)),
                      array_agg(distinct load_id)
               from raw.eurostat_observation where source_id = %s""",
            (MA_PT,),
        ).fetchone()
    assert rows == keys == 16
    assert load_ids == [pipeline.load_id_for(MA_PT, DAY1)]
    assert batch(warehouse_dsn, MA_PT, DAY2)[0] == "unchanged"


def test_bulk_path_stages_exactly_the_rows_of_the_tuple_path(warehouse_dsn) -> None:
    payload = json.dumps(POP1CTZ).encode()
    columns = "dataset_code, dimensions, geo, time_period, value, flags, dataset_updated"
    with psycopg.connect(warehouse_dsn) as conn:
        assert stage_rows(conn, "bulk_test_rows", "bulk", "eurostat_observation", jsonstat.parse(payload, {})) == 927
        assert (
            stage_arrays(
                conn, "bulk_test_arrays", "bulk", "eurostat_observation", [jsonstat.parse_arrays(payload, {}, parts=3)]
            )
            == 927
        )
        differences = conn.execute(
            f"""select count(*) from ((select load_id, {columns} from stage.bulk_test_rows
                                       except all select 'bulk_test_rows', {columns} from stage.bulk_test_arrays)
                                      union all
                                      (select 'bulk_test_rows', {columns} from stage.bulk_test_arrays
                                       except all select load_id, {columns} from stage.bulk_test_rows)) d"""
        ).fetchone()
        flagged = conn.execute("""select value, flags from stage.bulk_test_arrays where geo = 'FR'
                                  and time_period = '2014' and dimensions->>'citizen' = 'AT'""").fetchone()
        conn.rollback()
    assert differences == (0,)
    assert flagged == (4726.0, "b")


def test_airflow_skips_publish_of_an_unchanged_batch_so_no_asset_event(
    api, warehouse_dsn, landing_dir, tmp_path
) -> None:
    from observatory_dev.airflow_runner import airflow_env, migrate_metadata, test_dag

    home = tmp_path / "airflow"
    env = airflow_env(
        warehouse_dsn,
        {
            "AIRFLOW_HOME": str(home),
            "OBSERVATORY_REGISTRY": os.environ["OBSERVATORY_REGISTRY"],
            "OBSERVATORY_LANDING_DIR": str(landing_dir),
        },
    )
    migrate_metadata(env)
    for day in (DAY1, DAY2):
        test_dag(f"collect__{FR}", day, env)
    with sqlite3.connect(home / "airflow.db") as metadata:
        states = metadata.execute(
            """select r.logical_date, t.task_id, t.state from task_instance t
               join dag_run r on r.dag_id = t.dag_id and r.run_id = t.run_id
               where t.dag_id = ? order by r.logical_date, t.task_id""",
            (f"collect__{FR}",),
        ).fetchall()
        events = metadata.execute(
            """select count(*) from asset_event e join asset a on a.id = e.asset_id
                                     where a.name = ?""",
            (f"observatory.raw.{FR}",),
        ).fetchone()[0]
    by_run: dict[str, dict[str, str]] = {}
    for logical_date, task, state in states:
        by_run.setdefault(logical_date[:10], {})[task] = state
    ran = {"fetch": "success", "stage": "success", "validate": "success"}
    assert by_run == {"2026-05-01": ran | {"publish": "success"}, "2026-05-02": ran | {"publish": "skipped"}}
    assert events == 1
    assert batch(warehouse_dsn, FR, DAY2)[0] == "unchanged"
