"""What the report says beside the gaps: per catalogue indicator what the warehouse holds and what is missing and
why, the latest values of indicators without a gap (counts), and the cities of ``mart_city_profile``."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

from observatory.warehouse.connection import one_row

CITY_ROWS = 30  # cities ranked in the report; cities with engagement or funding are listed too


@dataclass
class IndicatorNote:
    indicator_id: str
    title: str
    domain: str
    family: str
    geo_level: str
    dataset_code: str
    observations: int
    geos: int
    first_period: str | None
    last_period: str | None
    gap_rows: int
    missing: str | None  # what is missing and why; None when nothing is


@dataclass
class CountRow:
    geo_name: str
    population_group: str
    period: str
    value: float
    flags: str


@dataclass
class CountSection:
    indicator_id: str
    title: str
    unit: str
    description: str
    citation: str
    rows: list[CountRow]


@dataclass
class CityRow:
    rank: int | None
    city: str
    country: str
    foreign_born: float | None
    year: int | None
    flags: str
    change_5y: float | None
    quality_note: str | None
    share: float | None
    share_missing: str | None
    events: int | None
    hosted: int | None
    documents: int | None
    operations: int | None
    amount_eur: float | None
    integration_share: float | None
    includes_sample: bool


def indicator_notes(conn: psycopg.Connection) -> list[IndicatorNote]:
    """One note per catalogue indicator: its observations and gaps in the marts, and what is missing and why."""
    rows = conn.execute(
        """select i.indicator_id, i.indicator_title, i.indicator_domain, i.comparison_family, i.geo_level,
                  i.dataset_code, i.migrant_group, i.reference_group, i.gap_method,
                  count(o.*), count(distinct o.geo_code), min(o.time_period), max(o.time_period),
                  count(*) filter (where o.population_group = i.migrant_group),
                  count(*) filter (where o.population_group = i.reference_group),
                  (select count(*) from marts.mart_integration_scoreboard as s where s.indicator_id = i.indicator_id
                     and s.gap is not null)
           from marts.dim_indicator as i
           left join marts.fct_indicator_observation as o on o.indicator_id = i.indicator_id
           group by i.indicator_id, i.indicator_title, i.indicator_domain, i.comparison_family, i.geo_level,
                    i.dataset_code, i.migrant_group, i.reference_group, i.gap_method
           order by i.indicator_domain, i.indicator_id"""
    ).fetchall()
    notes = []
    for (
        indicator_id,
        title,
        domain,
        family,
        geo_level,
        dataset,
        migrant,
        reference,
        gap_method,
        observations,
        geos,
        first,
        last,
        migrant_cells,
        reference_cells,
        gap_rows,
    ) in rows:
        notes.append(
            IndicatorNote(
                indicator_id,
                title,
                domain,
                family or "none",
                geo_level,
                dataset,
                observations,
                geos,
                first,
                last,
                gap_rows,
                missing_reason(
                    dataset, gap_method, migrant, reference, observations, migrant_cells, reference_cells, gap_rows
                ),
            )
        )
    return notes


def missing_reason(
    dataset: str,
    gap_method: str,
    migrant: str | None,
    reference: str | None,
    observations: int,
    migrant_cells: int,
    reference_cells: int,
    gap_rows: int,
) -> str | None:
    """Why an indicator has no data or no gap in the marts, in words; None when it has what it should."""
    if observations == 0:
        return (
            f"no observations: no published batch holds {dataset} (the live registry profile collects it; "
            "the bundled real files do not include it)"
        )
    if gap_method in ("points", "ratio"):
        if migrant_cells == 0:
            return f"no values for the migrant group {migrant} in the {dataset} cells collected"
        if reference_cells == 0:
            return f"no values for the reference group {reference} in the {dataset} cells collected"
        if gap_rows == 0:
            return f"{migrant} and {reference} are never published for the same geo, period, sex and age band"
    return None


def count_sections(conn: psycopg.Connection, limit: int = 12) -> list[CountSection]:
    """Indicators with observations and no gap (counts, context): their largest latest values, both sexes."""
    indicators = conn.execute(
        """select i.indicator_id, i.indicator_title, i.unit, i.indicator_description, i.source_citation
           from marts.dim_indicator as i
           where i.gap_method not in ('points', 'ratio')
             and exists (select from marts.fct_indicator_observation as o where o.indicator_id = i.indicator_id)
           order by i.indicator_id"""
    ).fetchall()
    sections = []
    for indicator_id, title, unit, description, citation in indicators:
        rows = conn.execute(
            """with latest as (
                   select distinct on (o.geo_code, o.population_group) o.geo_code, o.population_group,
                          o.time_period, o.observation_value, coalesce(o.observation_flags, '') as flags
                   from marts.fct_indicator_observation as o
                   inner join marts.dim_indicator as i on i.indicator_id = o.indicator_id
                   where o.indicator_id = %(id)s and o.sex = 'T' and o.observation_value is not null
                     and (i.migrant_group is null or o.population_group = i.migrant_group)
                   order by o.geo_code, o.population_group, o.time_period desc
               )
               select coalesce(g.geo_name, latest.geo_code), coalesce(latest.population_group, ''),
                      latest.time_period, latest.observation_value, latest.flags
               from latest left join marts.dim_geo as g on g.geo_code = latest.geo_code
               order by latest.observation_value desc
               limit %(limit)s""",
            {"id": indicator_id, "limit": limit},
        ).fetchall()
        sections.append(
            CountSection(indicator_id, title, unit, description, citation, [CountRow(*row) for row in rows])
        )
    return sections


def city_breaks(conn: psycopg.Connection) -> list[tuple[str, str]]:
    """(city, note) of every city whose foreign-born series jumps between two published years (a break the
    5-year change would hide), by city name."""
    if not one_row(conn.execute("select to_regclass('marts.mart_city_profile')"))[0]:
        return []
    return conn.execute(
        """select city_name, foreign_born_quality_note from marts.mart_city_profile
           where foreign_born_change_flag order by city_name"""
    ).fetchall()


def city_rows(conn: psycopg.Connection) -> tuple[list[CityRow], str, dict[str, int]]:
    """Cities by foreign-born share where a denominator is collected, else by foreign-born population: the first
    CITY_ROWS, then every other city with engagement or funding; the ranking's basis; counts of the mart."""
    if not one_row(conn.execute("select to_regclass('marts.mart_city_profile')"))[0]:
        return [], "", {}
    with_share = one_row(
        conn.execute("select count(*) from marts.mart_city_profile where foreign_born_share is not null")
    )[0]
    basis = "foreign_born_share" if with_share else "foreign_born_population"
    query = sql.SQL(
        """with ranked as (
                select p.*, case when p.{basis} is not null then
                           rank() over (order by p.{basis} desc nulls last) end as city_rank
                from marts.mart_city_profile as p
            )
            select city_rank, city_name, coalesce(g.geo_name, ranked.country_code), foreign_born_population,
                   foreign_born_year, coalesce(foreign_born_flags, ''), foreign_born_change_5y,
                   foreign_born_quality_note, foreign_born_share, foreign_born_share_missing_reason, event_count,
                   hosted_event_count, document_count, funding_operations_count, funding_committed_amount_eur,
                   funding_integration_amount_share, engagement_includes_sample or funding_includes_sample
            from ranked left join marts.dim_geo as g on g.geo_code = ranked.country_code
            where city_rank <= %(limit)s or coalesce(event_count, 0) + coalesce(document_count, 0) > 0
               or coalesce(funding_operations_count, 0) > 0
            order by city_rank nulls last, city_name"""
    ).format(basis=sql.Identifier(basis))
    rows = conn.execute(
        query,
        {"limit": CITY_ROWS},
    ).fetchall()
    counts = dict(
        zip(
            ("cities", "with_foreign_born", "with_share", "flagged"),
            one_row(
                conn.execute(
                    """select count(*), count(foreign_born_population), count(foreign_born_share),
                              count(*) filter (where foreign_born_change_flag)
                       from marts.mart_city_profile"""
                )
            ),
            strict=True,
        )
    )
    return [CityRow(*row) for row in rows], basis, counts
