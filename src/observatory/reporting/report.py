"""A static HTML page from the marts: per indicator, the migrant/national gap of each country over time (inline
SVG small multiples on one shared scale, the EU-27 gap dashed), the integration scoreboard; the latest values of
the indicators without a gap; the cities (mart_city_profile); the funding collected per city next to its country's
gap, figures from sample files marked; and per catalogue indicator what is missing and why
(``observatory.reporting.coverage``). One self-contained file, nothing fetched from the network.

``make report`` (``python -m observatory.reporting.report``) writes ``.local/report/index.html`` (or the path given)
from the warehouse in use and prints the path.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from markupsafe import Markup, escape

from observatory.config.settings import Settings
from observatory.reporting.coverage import city_breaks, city_rows, count_sections, indicator_notes
from observatory.warehouse.connection import one_row

TEMPLATE_DIR = Path(__file__).parent / "templates"
EU27 = "EU27_2020"
GAP_INDICATOR_FOR_FUNDING = "employment_rate"
GROUP_LABELS = {
    "NAT": "Nationals",
    "NEU27_2020_FOR": "Non-EU citizens",
    "EU27_2020_FOR": "Citizens of other EU countries",
    "FOR": "Foreign citizens",
}


@dataclass
class ScoreboardRow:
    geo_code: str
    geo_name: str
    geo_level: str
    period_used: str
    reference_value: float | None
    migrant_value: float | None
    gap: float
    gap_change_5y: float | None
    eu27_gap: float | None
    rank: int | None
    countries_ranked: int | None
    flags: str


@dataclass
class Panel:
    """One country's gap over time, drawn on the indicator's shared scale."""

    geo_code: str
    geo_name: str
    points: list[tuple[int, float]]
    svg: Markup = Markup("")


@dataclass
class IndicatorSection:
    indicator_id: str
    title: str
    unit: str
    gap_method: str
    higher_is_better: bool
    migrant_group: str
    reference_group: str
    description: str
    citation: str
    rows: list[ScoreboardRow] = field(default_factory=list)
    panels: list[Panel] = field(default_factory=list)
    years: tuple[int, int] | None = None

    @property
    def migrant_label(self) -> str:
        return GROUP_LABELS.get(self.migrant_group, self.migrant_group)

    @property
    def reference_label(self) -> str:
        return GROUP_LABELS.get(self.reference_group, self.reference_group)

    @property
    def gap_label(self) -> str:
        migrant, reference = first_lower(self.migrant_label), first_lower(self.reference_label)
        if self.gap_method == "ratio":
            return f"{migrant} ÷ {reference}"
        return f"{migrant} − {reference}, percentage points"


@dataclass
class FundingRow:
    city: str
    country_name: str
    geo_code: str | None
    operations: int
    amount_eur: float
    operations_without_eur: int
    gap: float | None
    gap_period: str | None
    includes_sample: bool = False  # some operations come from a file written for the project
    bar: Markup = Markup("")


def first_lower(text: str) -> str:
    """'Non-EU citizens' → 'non-EU citizens', for use inside a sentence."""
    return text[:1].lower() + text[1:]


def load_indicators(conn: psycopg.Connection) -> list[IndicatorSection]:
    """Indicators that have a scoreboard, with their rows (least favourable gap first, aggregates on top)."""
    sections = [
        IndicatorSection(*row)
        for row in conn.execute(
            """select i.indicator_id, i.indicator_title, i.unit, i.gap_method, i.higher_is_better, i.migrant_group,
                  i.reference_group, i.indicator_description, i.source_citation
           from marts.dim_indicator as i
           where i.indicator_id in (select s.indicator_id from marts.mart_integration_scoreboard as s)
           order by i.indicator_id"""
        )
    ]
    for section in sections:
        section.rows = [
            ScoreboardRow(*row)
            for row in conn.execute(
                """select s.geo_code, g.geo_name, g.geo_level, s.period_used, s.reference_value, s.migrant_value, s.gap,
                      s.gap_change_5y, s.eu27_gap, s.rank_among_countries, s.countries_ranked,
                      concat_ws('/', nullif(s.migrant_flags, ''), nullif(s.reference_flags, ''))
               from marts.mart_integration_scoreboard as s
               inner join marts.dim_geo as g on s.geo_code = g.geo_code
               where s.indicator_id = %s and (g.geo_level = 'country' or s.geo_code = %s)
               order by g.geo_level = 'country', case when %s then s.gap else -s.gap end, g.geo_name""",
                (section.indicator_id, EU27, section.higher_is_better),
            )
        ]
        series = gap_series(conn, section.indicator_id)
        section.panels = [
            Panel(row.geo_code, row.geo_name, series.get(row.geo_code, []))
            for row in section.rows
            if row.geo_level == "country"
        ]
        section.years = draw_panels(section.panels, series.get(EU27, []), section.gap_method)
    return sections


def gap_series(conn: psycopg.Connection, indicator_id: str) -> dict[str, list[tuple[int, float]]]:
    """Geo → [(year, gap)] for yearly periods, both sexes, the age band the scoreboard uses, from the fact mart."""
    rows = conn.execute(
        """with indicator as (
               select migrant_group, reference_group, gap_method from marts.dim_indicator where indicator_id = %(id)s
           ),
           scope as (
               select geo_code, age_group from marts.mart_integration_scoreboard where indicator_id = %(id)s
           ),
           observations as (
               select * from marts.fct_indicator_observation
               where indicator_id = %(id)s and sex = 'T' and time_period ~ '^[0-9]{4}$'
                 and observation_value is not null
           )
           select migrant.geo_code, migrant.time_period::int,
                  case indicator.gap_method
                      when 'points' then migrant.observation_value - reference.observation_value
                      when 'ratio' then migrant.observation_value / nullif(reference.observation_value, 0)
                  end
           from observations as migrant
           inner join indicator on migrant.population_group = indicator.migrant_group
           inner join observations as reference
               on reference.population_group = indicator.reference_group
               and reference.geo_code = migrant.geo_code
               and reference.time_period = migrant.time_period
               and reference.age_group = migrant.age_group
           inner join scope on scope.geo_code = migrant.geo_code and scope.age_group = migrant.age_group
           order by 1, 2""",
        {"id": indicator_id},
    ).fetchall()
    series: dict[str, list[tuple[int, float]]] = {}
    for geo_code, year, gap in rows:
        if gap is not None:
            series.setdefault(geo_code, []).append((year, round(float(gap), 2)))
    return series


def draw_panels(panels: list[Panel], reference: list[tuple[int, float]], gap_method: str) -> tuple[int, int] | None:
    """One SVG per panel, all on the same axes so that countries compare at a glance; returns the year range."""
    values = [gap for panel in panels for _, gap in panel.points] + [gap for _, gap in reference]
    years = [year for panel in panels for year, _ in panel.points] + [year for year, _ in reference]
    if not values:
        return None
    baseline = 1.0 if gap_method == "ratio" else 0.0
    low, high = min([*values, baseline]), max([*values, baseline])
    pad = (high - low) * 0.08 or 1.0
    scale = Scale(min(years), max(years), low - pad, high + pad)
    for panel in panels:
        panel.svg = line_chart(panel, reference, scale, baseline)
    return scale.x_min, scale.x_max


@dataclass(frozen=True)
class Scale:
    x_min: int
    x_max: int
    y_min: float
    y_max: float
    width: int = 210
    height: int = 96
    margin: int = 6

    def x(self, year: int) -> float:
        span = (self.x_max - self.x_min) or 1
        return round(self.margin + (year - self.x_min) / span * (self.width - 2 * self.margin), 1)

    def y(self, value: float) -> float:
        span = (self.y_max - self.y_min) or 1
        return round(self.height - self.margin - (value - self.y_min) / span * (self.height - 2 * self.margin), 1)


def polyline(points: list[tuple[int, float]], scale: Scale) -> str:
    return " ".join(f"{scale.x(year)},{scale.y(value)}" for year, value in points)


def line_chart(panel: Panel, reference: list[tuple[int, float]], scale: Scale, baseline: float) -> Markup:
    """The country's gap (solid, dots), the EU-27 gap (dashed) and the no-gap line."""
    label = (
        f"{panel.geo_name}: gap {panel.points[0][1]:+.1f} in {panel.points[0][0]} to "
        f"{panel.points[-1][1]:+.1f} in {panel.points[-1][0]}"
        if panel.points
        else f"{panel.geo_name}: no data"
    )
    parts = [
        f'<svg class="spark" viewBox="0 0 {scale.width} {scale.height}" width="{scale.width}" '
        f'height="{scale.height}" role="img" aria-label="{escape(label)}"><title>{escape(label)}</title>',
        f'<line class="zero" x1="0" x2="{scale.width}" y1="{scale.y(baseline)}" y2="{scale.y(baseline)}"/>',
    ]
    if reference:
        parts.append(f'<polyline class="eu" points="{polyline(reference, scale)}"/>')
    if panel.points:
        parts.append(f'<polyline class="gap" points="{polyline(panel.points, scale)}"/>')
        parts += [
            f'<circle class="gap" cx="{scale.x(year)}" cy="{scale.y(value)}" r="2"><title>{year}: '
            f"{value:+.1f}</title></circle>"
            for year, value in panel.points
        ]
    parts.append("</svg>")
    return Markup("".join(parts))


def load_funding(conn: psycopg.Connection, sections: list[IndicatorSection]) -> tuple[list[FundingRow], int]:
    """EUR per city (where the funding mart locates operations), with the city's country's latest gap; and the
    number of operations not located in a city."""
    rows = conn.execute(
        """select f.city_name, coalesce(g.geo_name, f.country_code), f.geo_code, count(*),
                  coalesce(sum(f.amount_eur), 0), count(*) filter (where f.amount_eur is null),
                  coalesce(bool_or(f.is_sample), false)
           from marts.fct_funding as f
           left join marts.dim_geo as g on g.geo_code = f.geo_code
           where f.city_name is not null
           group by 1, 2, 3
           order by 5 desc, 1"""
    ).fetchall()
    unlocated = one_row(conn.execute("select count(*) from marts.fct_funding where city_name is null"))[0]
    gaps = {
        row.geo_code: row
        for section in sections
        if section.indicator_id == GAP_INDICATOR_FOR_FUNDING
        for row in section.rows
    }
    funding = [
        FundingRow(
            name,
            country,
            geo_code,
            operations,
            float(amount),
            missing,
            gaps[geo_code].gap if geo_code in gaps else None,
            gaps[geo_code].period_used if geo_code in gaps else None,
            sample,
        )
        for name, country, geo_code, operations, amount, missing, sample in rows
    ]
    largest = max((row.amount_eur for row in funding), default=0) or 1
    for row in funding:
        width = round(160 * row.amount_eur / largest, 1)
        row.bar = Markup(
            f'<svg class="bar" width="160" height="12" role="img" aria-label="{escape(row.city)}: '
            f'EUR {row.amount_eur:,.0f}"><rect width="{width}" height="12"/></svg>'
        )
    return funding, unlocated


def data_vintage(conn: psycopg.Connection) -> dict[str, object]:
    row = one_row(
        conn.execute("""select max(dataset_updated_at), count(distinct load_id), count(*)
                                  from marts.fct_indicator_observation""")
    )
    return {"dataset_updated_at": row[0], "load_count": row[1], "observation_count": row[2]}


def render_report(conn: psycopg.Connection, generated_at: datetime | None = None) -> str:
    """The report page as an HTML string."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    sections = load_indicators(conn)
    funding, unlocated = load_funding(conn, sections)
    cities, city_basis, city_counts = city_rows(conn)
    environment = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["signed"] = lambda value, digits=1: "n/a" if value is None else f"{value:+.{digits}f}"
    environment.filters["first_lower"] = first_lower
    environment.filters["number"] = lambda value, digits=1: "n/a" if value is None else f"{value:,.{digits}f}"
    return environment.get_template("report.html.j2").render(
        sections=sections,
        counts=count_sections(conn),
        notes=indicator_notes(conn),
        cities=cities,
        city_basis=city_basis,
        city_counts=city_counts,
        city_breaks=city_breaks(conn),
        funding=funding,
        unlocated=unlocated,
        vintage=data_vintage(conn),
        eu27=EU27,
        funding_gap_indicator=GAP_INDICATOR_FOR_FUNDING,
        generated_at=(generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC"),
        database=conn.info.dbname,
    )


def write_report(target: Path | None = None, conninfo: str | None = None) -> Path:
    """Render the report from the warehouse in use (or ``conninfo``) into ``target`` (default
    ``.local/report/index.html``); returns the path."""
    target = target or Settings.from_env().local_dir / "report" / "index.html"
    if conninfo is None:
        from observatory.warehouse.bootstrap import ensure_warehouse

        conninfo = ensure_warehouse()
    with psycopg.connect(conninfo) as conn:
        html = render_report(conn)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(html, encoding="utf-8")
    return target


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    print(write_report(Path(args[0]) if args else None).resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
