"""The quality gate: a GX Core expectation suite from ``expectations/<suite>.json`` run on one staged batch.

Results go to ``audit.validation_result``; a failing batch raises ``QualityGateFailed`` (GX itself only
reports), so the caller quarantines it and the Airflow task fails visibly.

Besides its own expectations, a suite may bound how much a source's row count can change from one batch to
the next, in its ``meta``::

    "meta": {"row_count_band": {"max_relative_change": 0.5}}

The batch's row count must then lie within ±50% of the rows the source has published now (its previous
published batch): a publisher that suddenly serves half a file, or the same rows twice, is stopped at the gate.
The check is the expectation ``expect_table_row_count_to_be_within_band_of_previous_batch``, so it is stored
and reported like any other. A source's first batch has nothing to compare with and is not banded.

A clean batch costs one aggregate query per expectation: GX is asked for counts first, and for example values
only of the expectations that found unexpected ones (``validate_batch``).
"""

from __future__ import annotations

import copy
import functools
import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import psycopg
from psycopg import sql

from observatory.warehouse.raw_tables import RAW_TABLES

if TYPE_CHECKING:
    from great_expectations import ExpectationSuite
    from great_expectations.core import ExpectationSuiteValidationResult
    from great_expectations.expectations import Expectation, ExpectTableRowCountToBeBetween

BAND_EXPECTATION = "expect_table_row_count_to_be_within_band_of_previous_batch"
EXAMPLES = 5  # unexpected values stored and reported per failed expectation
COUNTS_ONLY = {"result_format": "BASIC", "partial_unexpected_count": 0}  # GX's ``LIMIT 0``: no example query
WITH_EXAMPLES = {"result_format": "BASIC", "partial_unexpected_count": EXAMPLES}
# GX's session runs each query in one process: the uniqueness check (group by the key, join the counts back)
# took twice as long with parallel workers (1M rows, 2 cores: 9.0-9.7 s against 3.9-4.9 s); the other queries,
# 1-2.5 s together, gain less than that from workers
GX_SESSION = {"max_parallel_workers_per_gather": "0"}


class QualityGateFailed(RuntimeError):
    """A batch broke its expectation suite; the message lists the failed expectations."""


def suite_path(suite: str, expectations_dir: Path) -> Path:
    return expectations_dir / f"{suite}.json"


def suite_document(suite: str, expectations_dir: Path) -> dict[str, Any]:
    """The suite file as written (name, meta, expectations)."""
    return json.loads(suite_path(suite, expectations_dir).read_text(encoding="utf-8"))


def load_suite(suite: str, expectations_dir: Path, extra: Sequence[Expectation] = ()) -> ExpectationSuite:
    """The suite as a GX ``ExpectationSuite`` (plus ``extra`` expectations); an expectation GX cannot build is an
    error, not a skip."""
    import great_expectations as gx

    document = suite_document(suite, expectations_dir)
    built = gx.ExpectationSuite(
        name=document["name"], expectations=[*document["expectations"], *extra], meta=document.get("meta") or {}
    )
    if len(built.expectations) != len(document["expectations"]) + len(extra):
        raise ValueError(f"expectation suite {suite!r} has expectations that GX cannot build")
    return built


@functools.cache
def band_expectation_class() -> type[ExpectTableRowCountToBeBetween]:
    """``expect_table_row_count_to_be_within_band_of_previous_batch``: GX's row-count range check under its own
    name, with bounds computed per batch (defining the class registers the name with GX, once)."""
    from great_expectations.expectations import ExpectTableRowCountToBeBetween

    class ExpectTableRowCountToBeWithinBandOfPreviousBatch(ExpectTableRowCountToBeBetween):
        """The row count lies within a band around the row count of the source's previous published batch."""

    return ExpectTableRowCountToBeWithinBandOfPreviousBatch


def max_relative_change(suite: str, document: dict[str, Any]) -> float | None:
    """The suite's ``meta.row_count_band.max_relative_change`` (None when the suite has no band)."""
    band = (document.get("meta") or {}).get("row_count_band")
    if band is None:
        return None
    change = band.get("max_relative_change") if isinstance(band, dict) else None
    if isinstance(change, bool) or not isinstance(change, int | float) or not 0 <= change <= 10:
        raise ValueError(
            f"expectation suite {suite!r}: meta.row_count_band.max_relative_change must be a number "
            f"between 0 and 10 (0.5 = ±50%), not {change!r}"
        )
    return float(change)


def previous_batch(conn: psycopg.Connection, load_id: str) -> tuple[str, int] | None:
    """(load id, row count) of what the batch's source has published now; None if it has published nothing."""
    batch = conn.execute("select source_id, raw_table from audit.batch where load_id = %s", (load_id,)).fetchone()
    if batch is None:
        raise ValueError(f"no audit.batch row for load {load_id!r}: cannot find the source's previous batch")
    source_id, raw_table = batch
    published = conn.execute(
        sql.SQL("select load_id, count(*) from raw.{} where source_id = %s group by load_id order by load_id").format(
            sql.Identifier(RAW_TABLES[raw_table].name)
        ),
        (source_id,),
    ).fetchall()
    if not published:
        return None
    return ", ".join(load for load, _ in published), sum(count for _, count in published)


def row_count_band(conn: psycopg.Connection, load_id: str, suite: str, expectations_dir: Path) -> Expectation | None:
    """The band expectation for this batch, or None (no band in the suite, or a first batch)."""
    change = max_relative_change(suite, suite_document(suite, expectations_dir))
    if change is None:
        return None
    previous = previous_batch(conn, load_id)
    if previous is None:
        return None
    previous_load_id, previous_rows = previous
    # rounded first, so that float noise (90 × 1.1 = 99.00000000000001) does not widen the band
    low = math.floor(round(previous_rows * (1 - change), 6))
    high = math.ceil(round(previous_rows * (1 + change), 6))
    return band_expectation_class()(
        min_value=max(low, 0),
        max_value=high,
        meta={"previous_load_id": previous_load_id, "previous_row_count": previous_rows, "max_relative_change": change},
        description=(
            f"row count within ±{change:.0%} of the {previous_rows} rows of the previous published "
            f"batch {previous_load_id} ({max(low, 0)}..{high})"
        ),
    )


def validate_table(
    conninfo: str, schema: str, table: str, suite: ExpectationSuite, result_format: dict[str, Any] | None = None
) -> ExpectationSuiteValidationResult:
    """Run ``suite`` on ``schema.table`` (GX's default ``result_format`` unless given); returns GX's
    ``ExpectationSuiteValidationResult``."""
    import great_expectations as gx
    from great_expectations.core.result_format import DEFAULT_RESULT_FORMAT
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    datasource = context.data_sources.add_postgres(
        name="warehouse", connection_string=with_search_path(conninfo, schema, GX_SESSION)
    )
    asset = datasource.add_table_asset(name=table, table_name=table)
    batch_definition = asset.add_batch_definition_whole_table("batch")
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{suite.name}:{table}", data=batch_definition, suite=context.suites.add(suite))
    )
    return definition.run(result_format=result_format or DEFAULT_RESULT_FORMAT)


def validate_batch(conninfo: str, schema: str, table: str, suite: ExpectationSuite) -> ExpectationSuiteValidationResult:
    """Run ``suite`` on ``schema.table`` in two passes, with the results one full pass would give.

    The first pass asks GX for counts only (``COUNTS_ONLY``: success, observed values and unexpected counts,
    no example values), so a clean batch costs one aggregate per expectation and no query for unexpected values
    (each of which scans the whole table when there are none, the uniqueness check's joining it to its own
    group counts a second time). Only the expectations that found unexpected values run again, with
    ``EXAMPLES`` of them for the record and the failure message."""
    import great_expectations as gx

    result = validate_table(conninfo, schema, table, suite, COUNTS_ONLY)
    unexpected = [item for item in result.results if item.result.get("unexpected_count")]
    if not unexpected:
        return result
    configs = [item.expectation_config for item in unexpected]
    # copies: GX refuses an expectation that belongs to a suite already
    expectations = [copy.copy(config.to_domain_obj()) for config in configs if config is not None]
    assert len(expectations) == len(configs), "GX reports every result with its expectation"
    again = validate_table(
        conninfo, schema, table, gx.ExpectationSuite(name=suite.name, expectations=expectations), WITH_EXAMPLES
    )
    detailed = {id(item): detail for item, detail in zip(unexpected, again.results, strict=True)}
    result.results = [detailed.get(id(item), item) for item in result.results]
    return result


def record_results(
    conn: psycopg.Connection, load_id: str, suite: str, result: ExpectationSuiteValidationResult
) -> list[str]:
    """Store one row per expectation; returns readable lines for the failed ones."""
    failures = []
    for item in result.results:
        config = item.expectation_config
        assert config is not None, "GX reports every result with its expectation"
        column = config.kwargs.get("column")
        observed = item.result.get("observed_value")
        if observed is None and "unexpected_count" in item.result:
            observed = (
                f"{item.result['unexpected_count']} unexpected, "
                f"e.g. {item.result.get('partial_unexpected_list', [])[:EXAMPLES]}"
            )
        if observed is None and item.exception_info and item.exception_info.get("raised_exception"):
            observed = f"error: {item.exception_info.get('exception_message')}"
        conn.execute(
            """insert into audit.validation_result (load_id, suite, expectation, column_name, success, observed_value)
               values (%s, %s, %s, %s, %s, %s)""",
            (load_id, suite, config.type, column, bool(item.success), None if observed is None else str(observed)),
        )
        if not item.success:
            expected = f" (expected {config.description})" if config.description else ""
            failures.append(f"{config.type}({column or ''}): observed {observed}{expected}")
    return failures


def gate_batch(conn: psycopg.Connection, conninfo: str, load_id: str, suite: str, expectations_dir: Path) -> None:
    """Validate ``stage.<load_id>`` against ``suite`` (and its row-count band); raise ``QualityGateFailed`` when it
    fails."""
    conn.execute("delete from audit.validation_result where load_id = %s", (load_id,))
    band = row_count_band(conn, load_id, suite, expectations_dir)
    expectations = load_suite(suite, expectations_dir, extra=[band] if band is not None else [])
    result = validate_batch(sqlalchemy_url(conninfo), "stage", load_id, expectations)
    failures = record_results(conn, load_id, suite, result)
    conn.commit()
    if not result.success:
        raise QualityGateFailed(f"batch {load_id} failed suite {suite!r}: " + "; ".join(failures))


def sqlalchemy_url(conninfo: str) -> str:
    """GX connects through SQLAlchemy; use the psycopg 3 driver that the project already has."""
    return "postgresql+psycopg://" + conninfo.split("://", 1)[1]


def with_search_path(url: str, schema: str, settings: Mapping[str, str] | None = None) -> str:
    """The connection URL with ``schema`` as the session's search path (how GX wants a table's schema given), and
    ``settings`` as the session's other parameters."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", schema):
        raise ValueError(f"not a plain schema name: {schema!r}")
    parameters = {"search_path": schema, **(settings or {})}
    for name, value in parameters.items():
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name) or not re.fullmatch(r"[A-Za-z0-9_.]+", value):
            raise ValueError(f"not a plain session setting: {name}={value!r}")
    options = quote(" ".join(f"-c{name}={value}" for name, value in parameters.items()), safe="-_.")
    return f"{url}{'&' if '?' in url else '?'}options={options}"
