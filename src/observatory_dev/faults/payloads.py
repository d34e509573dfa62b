"""Payloads of the fault lab in the formats the parsers read, and the registry entries that fetch them."""

from __future__ import annotations

import csv
import gzip
import io
import json
from itertools import product
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass


COUNTRIES = ("AT", "BE", "DE", "EL", "ES", "FR", "IT", "NL", "PL", "SE")


def geo_codes(count: int) -> list[str]:
    """``count`` Eurostat-shaped geo codes: countries, then NUTS-like regions (AT1, BE1, …)."""
    return [f"{country}{region or ''}" for region in range(count // len(COUNTRIES) + 1) for country in COUNTRIES][
        :count
    ]


def eurostat_tsv(geos: int = 4, version: int = 1, duplicate_line: bool = False, extra_period: bool = False) -> bytes:
    """A Eurostat bulk TSV of employment rates: 9 lines per geo, two periods (three with ``extra_period``)."""
    periods = ["2022", "2023", *(["2024"] if extra_period else [])]
    lines = ["freq,unit,sex,age,citizen,geo\\TIME_PERIOD\t" + "\t".join(f"{period} " for period in periods)]
    combinations = product(("F", "M", "T"), ("NAT", "EU27_2020_FOR", "NEU27_2020_FOR"), geo_codes(geos))
    for index, (sex, citizen, geo) in enumerate(combinations):
        rate = 40 + (index * 7 + version) % 50 + version / 10
        cells = [f"{rate:.1f} ", f"{rate + 1.3:.1f} b", *([f"{rate + 2.1:.1f} p"] if extra_period else [])]
        lines.append(f"A,PC,{sex},Y20-64,{citizen},{geo}\t" + "\t".join(cells))
    if duplicate_line:
        lines.append(lines[1])
    return ("\n".join(lines) + "\n").encode()


def jsonstat_cube(version: int = 1, value_count: int | None = None) -> bytes:
    """A JSON-stat 2.0 dataset of population by citizenship (3 citizenships × 2 years in France); with
    ``value_count`` its ``value`` array has that many entries whatever the sizes say."""
    cells = 6 if value_count is None else value_count
    document = {
        "version": "2.0",
        "class": "dataset",
        "label": "Population on 1 January by citizenship",
        "updated": "2026-03-01T11:00:00+01:00",
        "id": ["freq", "citizen", "geo", "time"],
        "size": [1, 3, 1, 2],
        "dimension": {
            "freq": {"category": {"index": {"A": 0}}},
            "citizen": {"category": {"index": {"NAT": 0, "EU27_2020_FOR": 1, "NEU27_2020_FOR": 2}}},
            "geo": {"category": {"index": {"FR": 0}}},
            "time": {"category": {"index": {"2022": 0, "2023": 1}}},
        },
        "value": [60_000_000 + 1_000 * version + cell for cell in range(cells)],
        "status": {"5": "p"},
    }
    return json.dumps(document).encode()


FUNDING_COLUMNS = {
    "beneficiary_name": "Name des Begünstigten",
    "operation_title": "Bezeichnung des Vorhabens",
    "start_date": "Datum des Beginns",
    "end_date": "Datum des Endes",
    "amount": "Gesamtbetrag förderfähiger Ausgaben",
    "cofinancing_rate": "Kofinanzierungssatz",
    "location_name": "PLZ Begünstigter",
    "theme": "Themenfeld",
}
FUNDING_OPERATIONS = (
    (
        "Jugendhilfe Süd gGmbH",
        "Sprachcafé für Neuzugewanderte",
        "01.02.2019",
        "31.12.2020",
        "91.100,16 €",
        "49,92%",
        "10115",
        "Integration",
    ),
    (
        "Bildungswerk Nord e.V.",
        "Berufsorientierung für Geflüchtete",
        "15.03.2018",
        "14.03.2021",
        "1.250.000,00 €",
        "50,00%",
        "13353",
        "Beschäftigung",
    ),
    (
        "Kiezküche Neukölln",
        "Gemeinsam kochen, Deutsch lernen",
        "01.09.2020",
        "31.08.2022",
        "48.730,5 €",
        "45%",
        "12043",
        "Integration",
    ),
    (
        "Träger für Bildung GmbH",
        "Mentoring für Auszubildende",
        "01.01.2019",
        "31.12.2019",
        "12.004,99 €",
        "60,00%",
        "10997",
        "Bildung",
    ),
)


def funding_csv(
    version: int = 1, encoding: str = "utf-8", extra_column: bool = False, drop_column: str | None = None
) -> bytes:
    """A beneficiary list in the shape of ESF Berlin's (decimal commas, € signs, German headers)."""
    header = list(FUNDING_COLUMNS.values())
    rows = [list(operation) for operation in FUNDING_OPERATIONS]
    for row in rows:
        row[1] = f"{row[1]} ({version}. Förderrunde)"
    if extra_column:
        header.append("Projektnummer")
        for number, row in enumerate(rows, start=1):
            row.append(f"ESF-{version:02d}-{number:04d}")
    if drop_column:
        position = header.index(FUNDING_COLUMNS[drop_column])
        for line in [header, *rows]:
            del line[position]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def ics_feed(version: int = 1, invalid_dates: bool = False) -> bytes:
    """An iCalendar feed of three community events in Berlin time, in the month of the lab's days (so inside the
    window the parser derives from the logical date); ``invalid_dates`` puts one on 31 February."""
    events = []
    for day in (11, 18, 25):
        start = f"202605{day}T180000" if not (invalid_dates and day == 18) else "20260231T180000"
        events += [
            "BEGIN:VEVENT",
            f"UID:language-cafe-{day}@fault.example",
            "DTSTAMP:20250301T090000Z",
            f"DTSTART;TZID=Europe/Berlin:{start}",
            f"DTEND;TZID=Europe/Berlin:{start[:9]}200000",
            f"SUMMARY:Language café, round {version}",
            "STATUS:CONFIRMED",
            "END:VEVENT",
        ]
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//observatory//fault injection//EN", *events, "END:VCALENDAR"]
    return ("\r\n".join(lines) + "\r\n").encode()


REPORT_LINES = (
    "City network update on migrant integration",
    "The working group met in Vienna to compare local integration strategies.",
    "Berlin reported 12 new language cafes and a mentoring scheme for young refugees.",
    "Milan and Athens presented housing support for newly arrived families in 2024.",
    "Members agreed to share monitoring indicators on employment and education.",
)


def report_text(version: int = 1) -> bytes:
    """A plain-text report of a few hundred characters."""
    return ("\n\n".join(REPORT_LINES) + f"\n\nEdition {version}.\n").encode()


def report_pdf(version: int = 1) -> bytes:
    """A one-page PDF (Helvetica) with the report's lines as text."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(width=595, height=842)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
    )
    shown = " 0 -16 Td ".join(f"({line}) Tj" for line in (*REPORT_LINES, f"Edition {version}."))
    content = DecodedStreamObject()
    content.set_data(f"BT /F1 11 Tf 40 780 Td {shown} ET".encode("latin-1"))
    page.replace_contents(content)  # type: ignore[arg-type]  # pypdf accepts a decoded stream; its hint does not say so
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def gzip_bomb(start: bytes, line: bytes, inflated_bytes: int) -> bytes:
    """A small gzip stream that inflates to about ``inflated_bytes``: ``start``, then ``line`` over and over."""
    return gzip.compress(start + line * (inflated_bytes // len(line)), compresslevel=9)


def nested_json(depth: int) -> bytes:
    """A JSON-stat-looking dataset with arrays nested ``depth`` deep in an extension (a few bytes per level)."""
    return b'{"version": "2.0", "class": "dataset", "extension": ' + b"[" * depth + b"]" * depth + b"}"


RSS_ITEM = "<item><title>City network update</title><link>{link}</link></item>"


def rss_feed(link: str, doctype: str = "", title: str = "City network news") -> bytes:
    """An RSS 2.0 feed with one item linking ``link`` (relative to the feed), an optional DOCTYPE before it."""
    return (
        f'<?xml version="1.0"?>\n{doctype}<rss version="2.0"><channel><title>{title}</title>'
        f"<link>http://127.0.0.1/</link><description>news</description>{RSS_ITEM.format(link=link)}</channel></rss>"
    ).encode()


def billion_laughs_feed(link: str) -> bytes:
    """The feed with the "billion laughs" entity bomb: ten levels of ten references, 10⁹ "lol"s if expanded."""
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">' for level in range(1, 10)
    ]
    return rss_feed(link, f"<!DOCTYPE rss [{''.join(entities)}]>\n", title="&lol9;")


def external_entity_feed(link: str) -> bytes:
    """The feed with an external entity (XXE) that would read a local file into its title."""
    return rss_feed(link, '<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n', title="&xxe;")


# Registry entries of the fault sources by format (the URL is added per case).
SOURCE_TEMPLATES: dict[str, dict[str, Any]] = {
    "eurostat_tsv": {"kind": "indicators", "suite": "eurostat_rates", "parse": {"dataset_code": "lfsa_ergan"}},
    "jsonstat": {"kind": "indicators", "suite": "eurostat_counts", "parse": {"dataset_code": "migr_pop1ctz"}},
    "funding_csv": {
        "kind": "funding",
        "suite": "funding_operation",
        "parse": {
            "columns": FUNDING_COLUMNS,
            "currency": "EUR",
            "country_code": "DE",
            "fund": "ESF",
            "date_format": "%d.%m.%Y",
            "decimal": ",",
        },
    },
    "ics": {"kind": "events", "suite": "calendar_event", "parse": {"default_timezone": "Europe/Berlin"}},
    "document": {"kind": "reports", "suite": "report_document", "parse": {"language": "en"}},
}

JSON = {"Content-Type": "application/json"}
TSV = {"Content-Type": "text/tab-separated-values"}
CSV = {"Content-Type": "text/csv"}
ICS = {"Content-Type": "text/calendar"}
PDF = {"Content-Type": "application/pdf"}
RSS = {"Content-Type": "application/rss+xml"}
TEXT = {"Content-Type": "text/plain; charset=utf-8"}
