"""Synthetic EU cohesion open-data portal records (Socrata SODA, dataset 557j-pmg8), served page by page.

``record(i, seed)`` is the ``i``-th of the records (0-based): the field names and value shapes of the bundled
sample (``sample_data/funding/cohesiondata/resource/557j-pmg8.json``: every value text, amounts and rates as
Socrata writes numbers as text, ``…T00:00:00.000`` dates, an end date left out of about one record in ten), in one
of 28 countries (the EU-27 and the United Kingdom, by the portal's English names) and one of their cities, with the
city's NUTS 3 code and a postal code of the country's shape. It is a pure function of ``(i, seed)`` (splitmix64 of
both), so any page is generated on demand, in the same way whatever the page size: nothing holds the ``total``
records. Every record is a distinct operation (its title carries its number), so ``total`` records are ``total``
rows once parsed.

``serve_socrata(total, seed)`` answers ``GET /resource/557j-pmg8.json`` on 127.0.0.1 as the portal's SODA API does
(``$order=:id`` the records' order, ``$offset``, ``$limit`` default 1000, at most ``MAX_LIMIT``); like the sample
server, any other ``$`` parameter or another order is a 400, and so is a filter (``?country=Italy``), which the
generator does not evaluate.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import date, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from observatory_dev.sample_server import SOCRATA_DEFAULT_LIMIT, QueryError

DATASET = "557j-pmg8"
RESOURCE_PATH = f"/resource/{DATASET}.json"
DEFAULT_SEED = 20261127
MAX_LIMIT = 50_000  # SODA 2.1's largest page
_MASK = (1 << 64) - 1

# country as the portal names it → (cities: (name as the region field has it, NUTS 3, postal code), programme
# stem, titles in the programme's language aligned with THEMES)
COUNTRIES: dict[str, tuple[tuple[tuple[str, str, str], ...], str, tuple[str, ...]]] = {
    "Italy": (
        (
            ("Milano", "ITC4C", "20121"),
            ("Torino", "ITC11", "10122"),
            ("Napoli", "ITF33", "80133"),
            ("Bologna", "ITH55", "40124"),
            ("Roma", "ITI43", "00184"),
            ("Palermo", "ITG12", "90133"),
        ),
        "POR {region} {fund} 2014-2020",
        (
            "Servizi di integrazione per cittadini di paesi terzi",
            "Formazione professionale per giovani NEET",
            "Riqualificazione energetica di edifici scolastici",
            "Corsi di lingua italiana per migranti adulti",
        ),
    ),
    "France": (
        (
            ("Lyon", "FRK26", "69001"),
            ("Paris", "FR101", "75001"),
            ("Marseille", "FRL04", "13001"),
            ("Lille", "FRE11", "59000"),
            ("Toulouse", "FRJ23", "31000"),
        ),
        "PO {fund} {region} 2014-2020",
        (
            "Accueil linguistique des primo-arrivants",
            "Plateforme emploi des quartiers prioritaires",
            "Rénovation énergétique des bâtiments publics",
            "Insertion professionnelle des réfugiés",
        ),
    ),
    "Germany": (
        (
            ("Berlin", "DE300", "10115"),
            ("Hamburg", "DE600", "20095"),
            ("München", "DE212", "80331"),
            ("Köln", "DEA23", "50667"),
        ),
        "OP {fund} {region} 2014-2020",
        (
            "Integrationskurse für Zugewanderte",
            "Berufliche Orientierung für junge Geflüchtete",
            "Energetische Sanierung kommunaler Gebäude",
            "Beratungsstelle für Arbeitsmarktintegration",
        ),
    ),
    "Spain": (
        (
            ("Madrid", "ES300", "28001"),
            ("Barcelona", "ES511", "08001"),
            ("Sevilla", "ES618", "41001"),
            ("Valencia", "ES523", "46001"),
        ),
        "PO {fund} {region} 2014-2020",
        (
            "Itinerarios de inserción para personas migrantes",
            "Formación profesional para jóvenes",
            "Rehabilitación energética de edificios públicos",
            "Acogida e integración de refugiados",
        ),
    ),
    "Poland": (
        (
            ("Warszawa", "PL911", "00-001"),
            ("Kraków", "PL213", "30-001"),
            ("Gdańsk", "PL634", "80-001"),
            ("Wrocław", "PL514", "50-001"),
        ),
        "RPO {region} {fund} 2014-2020",
        (
            "Aktywizacja zawodowa cudzoziemców",
            "Szkolenia zawodowe dla młodzieży",
            "Termomodernizacja budynków użyteczności publicznej",
            "Kursy języka polskiego dla migrantów",
        ),
    ),
    "Czechia": ((("Praha", "CZ010", "110 00"), ("Brno", "CZ064", "602 00")), "OP {fund} {region} 2014-2020", ()),
    "Portugal": ((("Lisboa", "PT170", "1100-001"), ("Porto", "PT11A", "4000-001")), "PO {region} 2020", ()),
    "Greece": ((("Athina", "EL303", "105 51"), ("Thessaloniki", "EL522", "546 21")), "EP {region} 2014-2020", ()),
    "Romania": ((("București", "RO321", "010011"), ("Cluj-Napoca", "RO113", "400001")), "POR {fund} 2014-2020", ()),
    "Hungary": ((("Budapest", "HU110", "1011"), ("Debrecen", "HU321", "4024")), "OP {fund} 2014-2020", ()),
    "Slovakia": ((("Bratislava", "SK010", "811 01"), ("Košice", "SK042", "040 01")), "OP {fund} 2014-2020", ()),
    "Slovenia": ((("Ljubljana", "SI041", "1000"), ("Maribor", "SI032", "2000")), "OP {fund} 2014-2020", ()),
    "Croatia": ((("Zagreb", "HR050", "10000"), ("Split", "HR035", "21000")), "OP {fund} 2014-2020", ()),
    "Bulgaria": ((("Sofia", "BG411", "1000"), ("Plovdiv", "BG421", "4000")), "OP {fund} 2014-2020", ()),
    "Austria": ((("Wien", "AT130", "1010"), ("Graz", "AT221", "8010")), "OP {fund} Österreich 2014-2020", ()),
    "Belgium": ((("Bruxelles", "BE100", "1000"), ("Antwerpen", "BE211", "2000")), "OP {fund} {region} 2014-2020", ()),
    "Netherlands": ((("Amsterdam", "NL329", "1011"), ("Rotterdam", "NL33C", "3011")), "OP {fund} 2014-2020", ()),
    "Sweden": ((("Stockholm", "SE110", "111 20"), ("Göteborg", "SE232", "411 01")), "OP {fund} 2014-2020", ()),
    "Finland": ((("Helsinki", "FI1B1", "00100"), ("Tampere", "FI197", "33100")), "OP {fund} 2014-2020", ()),
    "Denmark": ((("København", "DK011", "1050"), ("Aarhus", "DK042", "8000")), "OP {fund} 2014-2020", ()),
    "Ireland": ((("Dublin", "IE061", "D01"), ("Cork", "IE053", "T12")), "OP {fund} Ireland 2014-2020", ()),
    "Lithuania": ((("Vilnius", "LT011", "01001"), ("Kaunas", "LT022", "44001")), "OP {fund} 2014-2020", ()),
    "Latvia": ((("Rīga", "LV006", "LV-1050"),), "OP {fund} 2014-2020", ()),
    "Estonia": ((("Tallinn", "EE001", "10111"), ("Tartu", "EE008", "50090")), "OP {fund} 2014-2020", ()),
    "Luxembourg": ((("Luxembourg", "LU000", "L-1111"),), "PO {fund} Luxembourg 2014-2020", ()),
    "Malta": ((("Valletta", "MT001", "VLT 1000"),), "OP {fund} Malta 2014-2020", ()),
    "Cyprus": ((("Lefkosia", "CY000", "1010"),), "OP {fund} Cyprus 2014-2020", ()),
    "United Kingdom": ((("Manchester", "UKD33", "M1 1AA"), ("Glasgow", "UKM82", "G1 1AA")), "{region} {fund} OP", ()),
}
THEMES = (  # English operation names; the intervention category and fund each goes with
    (
        "Integration services for third-country nationals",
        "Active inclusion, including with a view to promoting "
        "equal opportunities and active participation, and improving employability",
        "ESF",
    ),
    ("Vocational training for young people", "Enhancing equal access to lifelong learning for all age groups", "ESF"),
    (
        "Energy renovation of public buildings",
        "Energy efficiency renovation of public infrastructure, demonstration projects and supporting measures",
        "ERDF",
    ),
    ("Language courses for adult migrants", "Integration of marginalised communities such as the Roma", "ESF"),
)
FUNDS = {"ESF": "European Social Fund", "ERDF": "European Regional Development Fund", "CF": "Cohesion Fund"}
RATES = ("50", "75", "80", "85", "60", "62.5", "95")
_COUNTRY_NAMES = tuple(COUNTRIES)
_FIRST_DAY = date(2014, 1, 1)


def _mix(value: int) -> int:
    """splitmix64: a 64-bit hash of ``value``."""
    value = (value + 0x9E3779B97F4A7C15) & _MASK
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK
    return value ^ (value >> 31)


def _amount_text(cents: int) -> str:
    """An amount in cents as the portal writes numbers: ``1250000.5``, ``310000``, ``87340.05``."""
    euros, rest = divmod(cents, 100)
    return str(euros) if rest == 0 else f"{euros}.{rest:02d}".rstrip("0")


def record(index: int, seed: int = DEFAULT_SEED) -> dict[str, str]:
    """The ``index``-th record (0-based) of the synthetic dataset of ``seed``."""
    first = _mix((seed << 32) ^ index)
    second = _mix(first)
    country = _COUNTRY_NAMES[first % len(_COUNTRY_NAMES)]
    cities, programme, local_titles = COUNTRIES[country]
    region, nuts3, postal = cities[(first >> 8) % len(cities)]
    theme = (first >> 16) % len(THEMES)
    english, category, fund = THEMES[theme]
    if fund == "ERDF" and (first >> 20) % 5 == 0 and country not in ("Italy", "France", "Germany"):
        fund = "CF"
    cents = 1_000_000 + (second % 499_000_000)  # 10 000.00 to 5 000 000.00 EUR
    if (second >> 40) % 3 == 0:
        cents -= cents % 100  # whole euros, as many amounts are
    rate = RATES[(first >> 24) % len(RATES)]
    start = _FIRST_DAY + timedelta(days=(second >> 32) % 2_400)
    end = start + timedelta(days=180 + (second >> 48) % 1_260)
    number = f"{index + 1:07d}"
    result = {
        "operation_name_programme_language": f"{local_titles[theme] if local_titles else english} {number}",
        "operation_name_english": f"{english} {number}",
        "beneficiary_name": f"Beneficiary {(first >> 28) % 50_000:05d} {region}",
        "country": country,
        "postal_code": postal,
        "operation_start_date": f"{start.isoformat()}T00:00:00.000",
        "operation_end_date": f"{end.isoformat()}T00:00:00.000",
        "cofinancing_rate": rate,
        "total_eligible_expenditure_amount": _amount_text(cents),
        "project_eu_budget": _amount_text(round(cents * float(rate) / 100)),
        "category_label": category,
        "fund_code": fund,
        "fund_name": FUNDS[fund],
        "programme_name": programme.format(region=region, fund=fund),
        "region": region,
        "nuts3_code": nuts3,
        "programming_period": "2014-2020",
    }
    if (first >> 36) % 10 == 0:
        del result["operation_end_date"]  # the API leaves an empty field out
    return result


def records(start: int, stop: int, seed: int = DEFAULT_SEED) -> list[dict[str, str]]:
    """Records ``start`` to ``stop - 1``."""
    return [record(index, seed) for index in range(start, stop)]


def page_slice(query: Iterable[tuple[str, str]], total: int) -> tuple[int, int]:
    """The (start, stop) of the records a SODA query asks for among ``total``; ``QueryError`` for a query the
    generator does not answer (the sample server's rules, and no filters)."""
    params = dict(query)
    unsupported = sorted(n for n in params if n.startswith("$") and n not in ("$limit", "$offset", "$order"))
    if unsupported:
        raise QueryError(f"query parameters not supported by the generator: {unsupported}")
    filters = sorted(n for n in params if not n.startswith("$"))
    if filters:
        raise QueryError(f"filters are not supported by the generator: {filters}")
    if params.get("$order", ":id") != ":id":
        raise QueryError(f"$order={params['$order']!r}: only :id (the records' order) is supported")
    try:
        offset, limit = int(params.get("$offset", 0)), int(params.get("$limit", SOCRATA_DEFAULT_LIMIT))
    except ValueError as exc:
        raise QueryError(f"$offset and $limit must be integers: {exc}") from exc
    if offset < 0 or limit < 0 or limit > MAX_LIMIT:
        raise QueryError(f"$offset must not be negative, $limit must be 0 to {MAX_LIMIT}")
    return min(offset, total), min(offset + limit, total)


def page_body(start: int, stop: int, seed: int = DEFAULT_SEED) -> bytes:
    """A SODA page of records ``start`` to ``stop - 1`` as the API sends it (a JSON array)."""
    return orjson.dumps(records(start, stop, seed))


def serve_socrata(total: int, seed: int = DEFAULT_SEED) -> tuple[ThreadingHTTPServer, str]:
    """Serve ``total`` synthetic records at ``/resource/557j-pmg8.json`` on 127.0.0.1 (free port); returns the
    server and the resource's URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            parts = urlsplit(self.path)
            if parts.path != RESOURCE_PATH:
                self.send_error(HTTPStatus.NOT_FOUND)
                return
            try:
                start, stop = page_slice(parse_qsl(parts.query, keep_blank_values=True), total)
            except QueryError as exc:
                self.send_error(HTTPStatus.BAD_REQUEST, str(exc))
                return
            body = page_body(start, stop, seed)
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}{RESOURCE_PATH}"
