"""The quality gate beyond single batches: the row-count band against the previous published batch, the
Eurostat suites' own checks, what is stored in audit.validation_result, Data Docs, and the failure notifier's
targets."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
import yaml
from pytest_httpserver import HTTPServer

from observatory import pipeline
from observatory.config.settings import Settings
from observatory.quality.gate import (
    BAND_EXPECTATION,
    EXAMPLES,
    QualityGateFailed,
    load_suite,
    max_relative_change,
    sqlalchemy_url,
    suite_document,
    validate_batch,
    validate_table,
)
from observatory.warehouse.load import stage_rows
from observatory_dev.faults.payloads import eurostat_tsv
from observatory_dev.faults.server import Reply, serve

DAYS = [datetime(2026, 6, day, tzinfo=UTC) for day in range(1, 5)]
TSV = {"Content-Type": "text/tab-separated-values"}


@dataclass(frozen=True)
class RatesSource:
    """A source of one test's own (suite ``eurostat_rates``) served by the test's HTTP server."""

    source_id: str
    server: HTTPServer
    settings: Settings

    def run(self, day: int, payload: bytes, settings: Settings | None = None) -> int:
        """Serve ``payload`` and run the source through the pipeline for ``DAYS[day]``; returns rows published."""
        self.server.clear()
        serve(self.server, "/rates.tsv", [Reply(payload, headers=TSV)])
        return pipeline.run_source(self.source_id, DAYS[day], settings or self.settings)


@pytest.fixture()
def rates(request: pytest.FixtureRequest, warehouse_dsn: str, httpserver: HTTPServer, tmp_path: Path) -> RatesSource:
    source_id = "gate_" + hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:12]
    registry = tmp_path / "sources.yml"
    registry.write_text(
        yaml.safe_dump(
            {
                "sources": {
                    source_id: {
                        "kind": "indicators",
                        "format": "eurostat_tsv",
                        "suite": "eurostat_rates",
                        "description": "gate test",
                        "publisher": "tests",
                        "urls": [httpserver.url_for("/rates.tsv")],
                        "parse": {"dataset_code": "lfsa_ergan"},
                        "freshness": {"warn_after_hours": 1, "error_after_hours": 2},
                    }
                }
            }
        ),
        encoding="utf-8",
    )
    settings = Settings.from_env().replace(registry_path=registry, landing_dir=tmp_path / "landing")
    return RatesSource(source_id, httpserver, settings)


def band_results(dsn: str, source_id: str, day: int) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "select success, observed_value from audit.validation_result where load_id = %s and expectation = %s",
            (pipeline.load_id_for(source_id, DAYS[day]), BAND_EXPECTATION),
        ).fetchall()


def batch(dsn: str, source_id: str, day: int) -> tuple:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "select status, row_count, message from audit.batch where load_id = %s",
            (pipeline.load_id_for(source_id, DAYS[day]),),
        ).fetchone()


def published(dsn: str, source_id: str) -> tuple[int, list[str]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "select count(*), array_agg(distinct load_id) from raw.eurostat_observation where source_id = %s",
            (source_id,),
        ).fetchone()


def test_a_first_batch_is_not_banded_and_a_batch_at_the_band_edges_passes(
    rates: RatesSource, warehouse_dsn: str
) -> None:
    source_id = rates.source_id
    assert rates.run(0, eurostat_tsv(geos=4)) == 72
    assert band_results(warehouse_dsn, source_id, 0) == []
    assert rates.run(1, eurostat_tsv(geos=2)) == 36  # exactly -50% of 72
    assert band_results(warehouse_dsn, source_id, 1) == [(True, "36")]
    assert rates.run(2, eurostat_tsv(geos=3)) == 54  # +50% of 36
    assert band_results(warehouse_dsn, source_id, 2) == [(True, "54")]


def test_a_batch_that_shrinks_past_the_band_is_quarantined(rates: RatesSource, warehouse_dsn: str) -> None:
    source_id = rates.source_id
    rates.run(0, eurostat_tsv(geos=4))
    with pytest.raises(
        QualityGateFailed,
        match=rf"{BAND_EXPECTATION}\(\): observed 18 \(expected row count within "
        rf"±50% of the 72 rows of the previous published batch "
        rf"{source_id}__20260601_000000 \(36\.\.108\)\)",
    ):
        rates.run(1, eurostat_tsv(geos=1))
    assert band_results(warehouse_dsn, source_id, 1) == [(False, "18")]
    status, _, message = batch(warehouse_dsn, source_id, 1)
    assert status == "quarantined" and BAND_EXPECTATION in message
    assert published(warehouse_dsn, source_id) == (72, [pipeline.load_id_for(source_id, DAYS[0])])


def test_a_batch_that_grows_past_the_band_is_quarantined(rates: RatesSource, warehouse_dsn: str) -> None:
    source_id = rates.source_id
    rates.run(0, eurostat_tsv(geos=4))
    with pytest.raises(QualityGateFailed, match=BAND_EXPECTATION):
        rates.run(1, eurostat_tsv(geos=7))  # 126 rows: +75%
    assert band_results(warehouse_dsn, source_id, 1) == [(False, "126")]
    assert published(warehouse_dsn, source_id)[0] == 72


def test_the_band_is_configured_by_the_suite_meta(rates: RatesSource, warehouse_dsn: str, tmp_path: Path) -> None:
    """The same +25% change passes the shipped suite (±50%) and fails a copy of it whose band is ±10%."""
    source_id = rates.source_id
    rates.run(0, eurostat_tsv(geos=4))
    assert rates.run(1, eurostat_tsv(geos=5)) == 90
    shipped = json.loads((rates.settings.expectations_dir / "eurostat_rates.json").read_text())
    (tmp_path / "eurostat_rates.json").write_text(
        json.dumps({**shipped, "meta": {**shipped["meta"], "row_count_band": {"max_relative_change": 0.1}}})
    )
    with pytest.raises(QualityGateFailed, match=r"±10% of the 90 rows .* \(81\.\.99\)"):
        rates.run(2, eurostat_tsv(geos=4), rates.settings.replace(expectations_dir=tmp_path))  # 72 rows: -20%
    assert band_results(warehouse_dsn, source_id, 2) == [(False, "72")]


@pytest.mark.parametrize("band", [{"max_relative_change": -0.5}, {"max_relative_change": "50%"}, {}, 0.5])
def test_a_malformed_band_is_an_error_naming_the_suite(band: object) -> None:
    with pytest.raises(ValueError, match=r"suite 'rates': meta\.row_count_band\.max_relative_change"):
        max_relative_change("rates", {"meta": {"row_count_band": band}})


def test_every_expectation_is_stored_with_its_observed_value(rates: RatesSource, warehouse_dsn: str) -> None:
    source_id = rates.source_id
    rates.run(0, eurostat_tsv(geos=4))
    rates.run(1, eurostat_tsv(geos=4, version=2))
    shipped = suite_document("eurostat_rates", rates.settings.expectations_dir)
    with psycopg.connect(warehouse_dsn) as conn:
        rows = conn.execute(
            """select suite, expectation, column_name, success, observed_value, validated_at
                               from audit.validation_result where load_id = %s""",
            (pipeline.load_id_for(source_id, DAYS[1]),),
        ).fetchall()
    assert len(rows) == len(shipped["expectations"]) + 1  # + the band
    assert all(suite == "eurostat_rates" and success and validated_at for suite, _, _, success, _, validated_at in rows)
    by_check = {(expectation, column): observed for _, expectation, column, _, observed, _ in rows}
    assert by_check[("expect_table_row_count_to_be_between", None)] == "72"
    assert by_check[("expect_column_values_to_be_between", "value")] == "0 unexpected, e.g. []"


@pytest.mark.parametrize(
    ("line", "expectation"),
    [
        ("A,PC,T,Y20-64,NAT,at\t70.4 \t71.0 ", r"expect_column_values_to_match_regex\(geo\)"),
        ("A,PC,T,Y20-64,NAT,AT\t70.4 x\t71.0 ", r"expect_column_values_to_match_regex\(flags\)"),
        ("A,PC,T,Y20-64,NAT,AT\t170.4 \t71.0 ", r"expect_column_values_to_be_between\(value\)"),
    ],
)
def test_the_eurostat_rates_suite_rejects_bad_cells(rates: RatesSource, line: str, expectation: str) -> None:
    payload = eurostat_tsv(geos=1).decode().splitlines()
    with pytest.raises(QualityGateFailed, match=expectation):
        rates.run(0, ("\n".join([payload[0], line, *payload[2:]]) + "\n").encode())


# --- two passes: counts first, examples only for what failed ------------------------------------------------

CELL = ("lfsa_ergan", '{"sex": "T", "unit": "PC"}', "AT", "2023", 70.4, None, None, None)
CLEAN = [
    (CELL[0], CELL[1], geo, str(year), 40.0 + year % 50, "b", None, None)
    for geo in ("AT", "BE", "DE")
    for year in range(2000, 2010)
]
DIRTY = [
    *CLEAN,
    CLEAN[0],  # the same cell twice
    (*CELL[:2], "at", *CELL[3:]),
    (*CELL[:2], "FR", "2023", 170.4, "x", None, None),
    *[(*CELL[:2], "IT", f"20{year}-Q5", 50.0, None, None, None) for year in range(10, 17)],  # 7 bad periods
]


DUPLICATE = {"dataset_code": "lfsa_ergan", "dimensions": {"sex": "T", "unit": "PC"}, "geo": "AT", "time_period": "2000"}


@contextmanager
def gx_queries() -> Iterator[list[tuple[str, int | None]]]:
    """The SQL statements GX sends while the block runs, each with its ``LIMIT`` (None without one)."""
    import sqlalchemy

    sent: list[tuple[str, int | None]] = []

    def record(conn: object, cursor: object, statement: str, parameters: object, context: object, many: bool) -> None:
        compiled = getattr(getattr(context, "compiled", None), "statement", None)
        limit = compiled._limit if isinstance(compiled, sqlalchemy.Select) else None
        sent.append((statement, limit))

    sqlalchemy.event.listen(sqlalchemy.engine.Engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        sqlalchemy.event.remove(sqlalchemy.engine.Engine, "before_cursor_execute", record)


def reported(result: Any) -> list[tuple]:
    """Per expectation, what the gate stores and reports: type, kwargs, success, observed value, unexpected
    count and the first examples."""
    return [
        (
            item.expectation_config.type,
            item.expectation_config.kwargs,
            item.success,
            item.result.get("observed_value"),
            item.result.get("unexpected_count"),
            item.result.get("partial_unexpected_list", [])[:EXAMPLES],
        )
        for item in result.results
    ]


@pytest.mark.parametrize("rows", [CLEAN, DIRTY], ids=["clean", "dirty"])
def test_two_passes_report_what_one_full_pass_of_gx_reports(warehouse_dsn: str, rows: list[tuple]) -> None:
    load_id = f"two_pass_{len(rows)}"
    with psycopg.connect(warehouse_dsn) as conn:
        stage_rows(conn, load_id, "two_pass", "eurostat_observation", rows)
    expectations_dir = Settings.from_env().expectations_dir
    url = sqlalchemy_url(warehouse_dsn)
    with gx_queries() as sent:
        two = validate_batch(url, "stage", load_id, load_suite("eurostat_rates", expectations_dir))
    one = validate_table(url, "stage", load_id, load_suite("eurostat_rates", expectations_dir))  # GX's SUMMARY
    assert reported(two) == reported(one)
    assert two.success is one.success is (rows is CLEAN)
    passes = [statement for statement, _ in sent if '"table.row_count"' in statement]
    examples = [limit for statement, limit in sent if limit is not None and not statement.startswith("SELECT 1 ")]
    if rows is CLEAN:
        assert len(passes) == 1 and examples and set(examples) == {0}  # no query for unexpected values
    else:
        assert len(passes) == 2 and EXAMPLES in examples
        failed = {
            (kind, kwargs.get("column")): (count, found)
            for kind, kwargs, ok, _, count, found in reported(two)
            if not ok
        }
        assert failed == {
            ("expect_compound_columns_to_be_unique", None): (2, [DUPLICATE, DUPLICATE]),
            ("expect_column_values_to_match_regex", "geo"): (1, ["at"]),
            ("expect_column_values_to_match_regex", "flags"): (1, ["x"]),
            ("expect_column_values_to_match_regex", "time_period"): (7, [f"20{year}-Q5" for year in range(10, 15)]),
            ("expect_column_values_to_be_between", "value"): (1, [170.4]),
        }


# --- the failure notifier (alerts: tests/integration/test_alerts.py) ---------------------------------------


def failed_task_context(error: BaseException, run_id: str) -> dict:
    ti = SimpleNamespace(
        dag_id="collect__eurostat_lfsa_ergan",
        task_id="validate",
        run_id=run_id,
        try_number=4,
        log_url=f"http://localhost:8080/dags/collect__eurostat_lfsa_ergan/runs/{run_id}/tasks/validate",
    )
    return {"ti": ti, "exception": error, "logical_date": datetime(2026, 6, 1, tzinfo=UTC)}


GATE_ERROR = QualityGateFailed(
    "batch eurostat_lfsa_ergan__20260601_000000 failed suite 'eurostat_rates': "
    "expect_column_values_to_be_between(value): observed 3 unexpected"
)


def test_the_legacy_webhook_setting_gets_the_alert_as_json(
    warehouse_dsn: str, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from observatory.airflow.notify import on_failure_callback

    httpserver.expect_oneshot_request("/hooks/observatory", method="POST").respond_with_data("ok")
    monkeypatch.delenv("OBSERVATORY_NOTIFY_URLS", raising=False)
    monkeypatch.setenv("OBSERVATORY_NOTIFY_URL", httpserver.url_for("/hooks/observatory"))
    monkeypatch.setenv("OBSERVATORY_NOTIFY_LOG", str(tmp_path / "notifications.log"))
    on_failure_callback(failed_task_context(GATE_ERROR, "legacy_webhook"))
    [(request, _)] = httpserver.log
    sent = request.get_json()
    assert request.headers["Content-Type"] == "application/json"
    assert sent["title"] == "Observatory: eurostat_lfsa_ergan: task failed"
    lines = sent["message"].splitlines()
    assert lines[:2] == ["source: eurostat_lfsa_ergan", "batch: eurostat_lfsa_ergan__20260601_000000"]
    assert lines[2].startswith("reason: QualityGateFailed: batch eurostat_lfsa_ergan__20260601_000000 failed suite")
    assert lines[3] == "log: http://localhost:8080/dags/collect__eurostat_lfsa_ergan/runs/legacy_webhook/tasks/validate"
    assert "try: 4" in lines and any(line.startswith("summary: observatory failure: source=") for line in lines)
    assert not (tmp_path / "notifications.log").exists()


def test_without_a_target_the_alerts_go_to_the_log_file(
    warehouse_dsn: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from observatory.airflow.notify import on_failure_callback

    monkeypatch.delenv("OBSERVATORY_NOTIFY_URL", raising=False)
    monkeypatch.delenv("OBSERVATORY_NOTIFY_URLS", raising=False)
    monkeypatch.setenv("OBSERVATORY_NOTIFY_LOG", str(tmp_path / "logs" / "notifications.log"))
    on_failure_callback(failed_task_context(GATE_ERROR, "log_file_1"))
    on_failure_callback(failed_task_context(RuntimeError("fetch failed: HTTP 503"), "log_file_2"))
    lines = [json.loads(line) for line in (tmp_path / "logs" / "notifications.log").read_text().splitlines()]
    assert [line["reason"] for line in lines] == [
        f"QualityGateFailed: {GATE_ERROR}",
        "RuntimeError: fetch failed: HTTP 503",
    ]
    assert {line["detail"]["task"] for line in lines} == {"collect__eurostat_lfsa_ergan.validate"}


def test_the_default_log_file_is_in_the_local_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    from observatory.airflow.notify import notification_log

    monkeypatch.delenv("OBSERVATORY_NOTIFY_LOG", raising=False)
    assert notification_log() == Settings.from_env().local_dir / "notifications.log"


def test_a_failing_webhook_falls_back_to_the_log_without_leaking_its_url(
    warehouse_dsn: str,
    httpserver: HTTPServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from observatory.airflow.notify import on_failure_callback

    httpserver.expect_request("/hooks/T000/B000/secret-token", method="POST").respond_with_data("down", status=500)
    monkeypatch.delenv("OBSERVATORY_NOTIFY_URL", raising=False)
    monkeypatch.setenv("OBSERVATORY_NOTIFY_URLS", f"json://127.0.0.1:{httpserver.port}/hooks/T000/B000/secret-token")
    monkeypatch.setenv("OBSERVATORY_NOTIFY_LOG", str(tmp_path / "notifications.log"))
    with caplog.at_level(logging.DEBUG):
        on_failure_callback(failed_task_context(GATE_ERROR, "failing_webhook"))
    written = (tmp_path / "notifications.log").read_text()
    assert len(httpserver.log) == 1
    assert json.loads(written)["delivery_errors"] == ["target 1 (json): not delivered"]
    ours = [record.getMessage() for record in caplog.records if record.name.startswith(("observatory", "apprise"))]
    assert ours and "secret-token" not in written and not [line for line in ours if "secret-token" in line]


# --- Data Docs ---------------------------------------------------------------------------------------------


def test_data_docs_show_the_published_rows_validated_by_their_suite(rates: RatesSource, tmp_path: Path) -> None:
    from observatory.quality.data_docs import build_data_docs

    source_id = rates.source_id
    rates.run(0, eurostat_tsv(geos=4))
    index = build_data_docs(tmp_path / "datadocs", rates.settings)
    assert index == tmp_path / "datadocs" / "index.html"
    pages = [path.relative_to(index.parent).as_posix() for path in index.parent.rglob("*.html")]
    assert "expectations/eurostat_rates.html" in pages
    [validation] = [page for page in pages if page.startswith("validations/eurostat_rates/")]
    text = " ".join(re.sub(r"<[^>]+>", " ", (index.parent / validation).read_text(encoding="utf-8")).split())
    assert f"Data asset: {source_id} Status: Succeeded" in text
    suite = suite_document("eurostat_rates", rates.settings.expectations_dir)
    checks = len(suite["expectations"])  # the suite without the band
    assert f"Evaluated Expectations {checks} Successful Expectations {checks}" in text
    assert "Must have greater than or equal to 1 rows. 72" in text  # observed on the 72 published rows
    assert validation.split("/")[-1] == f"warehouse-{source_id}.html" and validation in index.read_text()
