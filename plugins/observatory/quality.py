"""The quality gate: a GX Core expectation suite from ``expectations/<suite>.json`` run on one staged batch.

Results go to ``audit.validation_result``; a failing batch raises ``QualityGateFailed`` (GX itself only
reports), so the caller quarantines it and the Airflow task fails visibly.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg

from observatory.settings import EXPECTATIONS_DIR


class QualityGateFailed(RuntimeError):
    """A batch broke its expectation suite; the message lists the failed expectations."""


def suite_path(suite: str) -> Path:
    return EXPECTATIONS_DIR / f"{suite}.json"


def load_suite(suite: str):
    """The suite as a GX ``ExpectationSuite``; an expectation GX cannot build is an error, not a skip."""
    import great_expectations as gx

    document = json.loads(suite_path(suite).read_text(encoding="utf-8"))
    built = gx.ExpectationSuite(name=document["name"], expectations=document["expectations"])
    if len(built.expectations) != len(document["expectations"]):
        raise ValueError(f"expectation suite {suite!r} has expectations that GX cannot build")
    return built


def validate_table(conninfo: str, schema: str, table: str, suite: str):
    """Run ``suite`` on ``schema.table``; returns GX's ``ExpectationSuiteValidationResult``."""
    import great_expectations as gx

    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    datasource = context.data_sources.add_sql(name="warehouse", connection_string=conninfo)
    asset = datasource.add_table_asset(name=table, table_name=table, schema_name=schema)
    batch_definition = asset.add_batch_definition_whole_table("batch")
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{suite}:{table}", data=batch_definition,
                                suite=context.suites.add(load_suite(suite))))
    return definition.run()


def record_results(conn: psycopg.Connection, load_id: str, suite: str, result) -> list[str]:
    """Store one row per expectation; returns readable lines for the failed ones."""
    failures = []
    for item in result.results:
        config = item.expectation_config
        column = config.kwargs.get("column")
        observed = item.result.get("observed_value")
        if observed is None and "unexpected_count" in item.result:
            observed = f"{item.result['unexpected_count']} unexpected, e.g. {item.result.get('partial_unexpected_list', [])[:5]}"
        conn.execute(
            """insert into audit.validation_result (load_id, suite, expectation, column_name, success, observed_value)
               values (%s, %s, %s, %s, %s, %s)""",
            (load_id, suite, config.type, column, bool(item.success), None if observed is None else str(observed)),
        )
        if not item.success:
            failures.append(f"{config.type}({column or ''}): observed {observed}")
    return failures


def gate_batch(conn: psycopg.Connection, conninfo: str, load_id: str, suite: str) -> None:
    """Validate ``stage.<load_id>`` against ``suite``; raise ``QualityGateFailed`` when it fails."""
    conn.execute("delete from audit.validation_result where load_id = %s", (load_id,))
    result = validate_table(sqlalchemy_url(conninfo), "stage", load_id, suite)
    failures = record_results(conn, load_id, suite, result)
    conn.commit()
    if not result.success:
        raise QualityGateFailed(f"batch {load_id} failed suite {suite!r}: " + "; ".join(failures))


def sqlalchemy_url(conninfo: str) -> str:
    """GX connects through SQLAlchemy; use the psycopg 3 driver that the project already has."""
    return "postgresql+psycopg://" + conninfo.split("://", 1)[1]
