"""What the marts hold: one line per mart, and a readable look at the main indicator mart."""

from __future__ import annotations

import psycopg
from psycopg import sql


def mart_row_counts(conn: psycopg.Connection, schema: str = "marts") -> list[tuple[str, str, int]]:
    tables = conn.execute(
        "select table_name from information_schema.tables where table_schema = %s order by table_name", (schema,)
    ).fetchall()
    return [
        (schema, name, conn.execute(sql.SQL("select count(*) from {}.{}").format(
            sql.Identifier(schema), sql.Identifier(name))).fetchone()[0])
        for (name,) in tables
    ]


def employment_gap_preview(conn: psycopg.Connection, limit: int = 8) -> list[tuple]:
    """Employment rate of non-EU citizens vs nationals (20-64, both sexes) for the latest year, by country."""
    return conn.execute(
        """
        with obs as (
            select geo_code, time_period, population_group, observation_value, observation_flags
            from marts.fct_indicator_observation
            where indicator_id = 'employment_rate' and sex = 'T'
        ), latest as (select max(time_period) as time_period from obs)
        select g.geo_name, o.time_period, nat.observation_value, o.observation_value,
               round((o.observation_value - nat.observation_value)::numeric, 1), o.observation_flags
        from obs o
        join latest using (time_period)
        join obs nat on nat.geo_code = o.geo_code and nat.time_period = o.time_period and nat.population_group = 'NAT'
        join marts.dim_geo g on g.geo_code = o.geo_code
        where o.population_group = 'NEU27_2020_FOR' and o.observation_value is not null
        order by 5 asc
        limit %s
        """,
        (limit,),
    ).fetchall()


def print_summary(conn: psycopg.Connection) -> None:
    for schema, name, rows in mart_row_counts(conn):
        print(f"mart {schema}.{name} rows={rows}")
    preview = employment_gap_preview(conn)
    if preview:
        print("\nEmployment rate 20-64, non-EU citizens vs nationals (largest gaps first):")
        print(f"  {'country':<16} {'year':<6} {'nationals':>9} {'non-EU':>7} {'gap':>6}  flags")
        for geo_name, period, national, non_eu, gap, flags in preview:
            print(f"  {geo_name:<16} {period:<6} {national:>9.1f} {non_eu:>7.1f} {gap:>6.1f}  {flags or ''}")
