"""What the marts hold: one line per mart, and a readable look at the main indicator mart."""

from __future__ import annotations

import psycopg
from psycopg import sql

from observatory.warehouse.connection import one_row


def mart_row_counts(conn: psycopg.Connection, schema: str = "marts") -> list[tuple[str, str, int]]:
    tables = conn.execute(
        "select table_name from information_schema.tables where table_schema = %s order by table_name", (schema,)
    ).fetchall()
    return [
        (
            schema,
            name,
            one_row(
                conn.execute(sql.SQL("select count(*) from {}.{}").format(sql.Identifier(schema), sql.Identifier(name)))
            )[0],
        )
        for (name,) in tables
    ]


SAMPLE_COLUMNS = ("is_sample", "includes_sample")  # a row's figures come (partly) from a file written for the project


def sample_row_counts(conn: psycopg.Connection, schema: str = "marts") -> list[tuple[str, str, int, int]]:
    """(schema, mart, rows marked sample, rows) for every mart that marks sample figures."""
    marked = conn.execute(
        """select table_name, min(column_name) from information_schema.columns
           where table_schema = %s and column_name = any(%s) group by table_name order by table_name""",
        (schema, list(SAMPLE_COLUMNS)),
    ).fetchall()
    counts = []
    for name, column in marked:
        sample, total = one_row(
            conn.execute(
                sql.SQL("select count(*) filter (where {}), count(*) from {}.{}").format(
                    sql.Identifier(column), sql.Identifier(schema), sql.Identifier(name)
                )
            )
        )
        counts.append((schema, name, sample, total))
    return counts


def scoreboard_preview(conn: psycopg.Connection, indicator_id: str = "employment_rate", limit: int = 8) -> list[tuple]:
    """Countries with the largest migrant/national gap for one indicator, from the integration scoreboard."""
    return conn.execute(
        """
        select g.geo_name, s.period_used, s.reference_value, s.migrant_value, s.gap, s.gap_change_5y,
               s.eu27_gap, s.rank_among_countries, s.countries_ranked,
               concat_ws('/', nullif(s.migrant_flags, ''), nullif(s.reference_flags, ''))
        from marts.mart_integration_scoreboard s
        join marts.dim_geo g using (geo_code)
        where s.indicator_id = %s and g.geo_level = 'country'
        order by s.gap asc
        limit %s
        """,
        (indicator_id, limit),
    ).fetchall()


def print_summary(conn: psycopg.Connection) -> None:
    for schema, name, rows in mart_row_counts(conn):
        print(f"mart {schema}.{name} rows={rows}")
    sample_counts = [count for count in sample_row_counts(conn) if count[2]]
    if sample_counts:
        print("\nRows whose figures come from files written for the project (samples, not published figures):")
        for schema, name, sample, rows in sample_counts:
            print(f"sample {schema}.{name} rows={sample} of {rows}")
    preview = (
        scoreboard_preview(conn)
        if ("marts", "mart_integration_scoreboard") in {(schema, name) for schema, name, _ in mart_row_counts(conn)}
        else []
    )
    if preview:
        print("\nIntegration scoreboard, employment rate 20-64: non-EU citizens vs nationals (largest gaps first)")
        print(
            f"  {'country':<16} {'year':<5} {'nationals':>9} {'non-EU':>7} {'gap':>6} {'5y chg':>7} {'EU-27':>6}"
            f" {'rank':>6}  flags"
        )
        for name, period, national, non_eu, gap, change, eu27, rank, ranked, flags in preview:
            print(
                f"  {name:<16} {period:<5} {national:>9.1f} {non_eu:>7.1f} {gap:>6.1f} {fmt(change):>7} "
                f"{fmt(eu27):>6} {f'{rank}/{ranked}' if rank else 'n/r':>6}  {flags}"
            )


def fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1f}"
