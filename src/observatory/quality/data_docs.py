"""GX Data Docs: a static HTML site (default ``.local/datadocs``, or ``OBSERVATORY_DATADOCS_DIR``) with every
expectation suite in use and, for each registry source, its suite run on the rows it has published in ``raw``.

Off the critical path: run it as its own task after publishing (or by hand). Failed expectations are shown in
the site, never raised; only an unreachable warehouse or a broken suite raises. Each build adds a validation
page per source, so the site keeps the history of builds. The row-count band compares a batch with the batch
before it, so it is checked at the gate only (its results are in ``audit.validation_result``).
"""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
from psycopg import sql

from observatory.config.registry import Source, load_registry
from observatory.config.settings import Settings
from observatory.quality.gate import load_suite, sqlalchemy_url
from observatory.warehouse import connection
from observatory.warehouse.connection import one_row
from observatory.warehouse.raw_tables import RAW_TABLES

SITE_NAME = "observatory"


def datadocs_dir(settings: Settings) -> Path:
    return Path(os.environ.get("OBSERVATORY_DATADOCS_DIR", settings.local_dir / "datadocs"))


def published_rows_query(conn: psycopg.Connection, source: Source) -> str | None:
    """SQL selecting the source's published rows (identifiers and the source id quoted), or None if it has
    published nothing."""
    table = sql.Identifier(RAW_TABLES[source.raw_table].name)
    published = one_row(
        conn.execute(
            sql.SQL("select exists (select 1 from raw.{} where source_id = %s)").format(table), (source.source_id,)
        )
    )[0]
    if not published:
        return None
    return (
        sql.SQL("select * from raw.{} where source_id = {}")
        .format(table, sql.Literal(source.source_id))
        .as_string(conn)
    )


def build_data_docs(target: Path | None = None, settings: Settings | None = None) -> Path:
    """Validate every source's published rows with its suite and render the Data Docs site into ``target``;
    returns the site's ``index.html``."""
    import great_expectations as gx
    from great_expectations.checkpoint import UpdateDataDocsAction
    from great_expectations.data_context.types.base import ProgressBarsConfig

    settings = settings or Settings.from_env()
    target = target or datadocs_dir(settings)
    sources = list(load_registry(settings=settings).sources.values())
    with connection.connect() as conn:
        queries = {source.source_id: published_rows_query(conn, source) for source in sources}
    published = {source_id: query for source_id, query in queries.items() if query is not None}
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    for site in list(context.list_data_docs_sites()):  # the ephemeral context's default site is a temp dir
        context.delete_data_docs_site(site)
    context.add_data_docs_site(
        site_name=SITE_NAME,
        site_config={
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(target)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    datasource = context.data_sources.add_postgres(name="warehouse", connection_string=sqlalchemy_url(connection.dsn()))
    suites = {
        name: context.suites.add(load_suite(name, settings.expectations_dir))
        for name in sorted({source.suite for source in sources})
    }
    definitions = [
        context.validation_definitions.add(
            gx.ValidationDefinition(
                name=source.source_id,
                data=datasource.add_query_asset(
                    name=source.source_id, query=published[source.source_id]
                ).add_batch_definition_whole_table("published"),
                suite=suites[source.suite],
            )
        )
        for source in sources
        if source.source_id in published
    ]
    if definitions:
        context.checkpoints.add(
            gx.Checkpoint(
                name="published_raw",
                validation_definitions=definitions,
                actions=[UpdateDataDocsAction(name="data_docs", site_names=[SITE_NAME])],
            )
        ).run()
    else:
        context.build_data_docs(site_names=[SITE_NAME])
    return target / "index.html"
