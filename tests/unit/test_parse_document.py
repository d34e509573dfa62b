"""document: seed reports, Markdown titles, HTML main text, PDF text, and the error cases."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject, TextStringObject

from observatory.extract.language import detect_language
from observatory.parse import ParseError, parser_for
from observatory.parse.document import RAW_TABLE, parse
from observatory.warehouse.raw_tables import RAW_TABLES

PROJECT = Path(__file__).resolve().parents[2]
REPORTS = PROJECT / "sample_data" / "reports"
COLUMNS = RAW_TABLES[RAW_TABLE].column_names


def document(payload: bytes, **options: object) -> dict:
    """The single row of ``payload`` as a dict keyed by raw-table column."""
    [row] = parse(payload, options)
    return dict(zip(COLUMNS, row, strict=True))


def make_pdf(lines: list[str], title: str | None = None) -> bytes:
    """A one-page PDF (Helvetica) showing ``lines``."""
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
    shown = " 0 -16 Td ".join(f"({line}) Tj" for line in lines)
    content = DecodedStreamObject()
    content.set_data(f"BT /F1 12 Tf 72 760 Td {shown} ET".encode("latin-1"))
    page.replace_contents(content)
    if title:
        writer.add_metadata({"/Title": title})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_registered_as_format() -> None:
    assert parser_for("document").RAW_TABLE == "report_document"


@pytest.mark.parametrize(
    ("name", "title", "length"),
    [
        (
            "ec_action_plan_integration_2021_2027_slides.txt",
            "The action plan on integration and inclusion 2021-2027: What's in it for the cities?",
            7935,
        ),
        (
            "eurocities_wg_migration_update_2019.txt",
            "EUROCITIES Social Affairs Forum 25-27 March 2019, Glasgow WG Migration & Integration updates",
            7338,
        ),
        ("mc2cm_days_2021_concept_note.txt", "Mediterranean City-to-City Migration", 15505),
    ],
)
def test_seed_reports(name: str, title: str, length: int) -> None:
    payload = (REPORTS / name).read_bytes()
    doc = document(payload, resource_name=name, publisher="EUROCITIES", language="en")
    assert doc["document_id"] == hashlib.sha256(payload).hexdigest()
    assert doc["media_type"] == "text/plain"
    assert doc["title"] == title
    assert len(doc["body_text"]) == length
    assert doc["body_text"] == payload.decode("utf-8")
    assert (doc["resource_name"], doc["publisher"], doc["language"]) == (name, "EUROCITIES", "en")
    assert doc["published_on"] is None


def test_published_on_option() -> None:
    doc = document(b"Note\n", resource_name="n.txt", published_on="2021-09-20")
    assert doc["published_on"] == date(2021, 9, 20)
    assert document(b"Note\n", resource_name="n.txt", published_on=date(2019, 3, 25))["published_on"] == date(
        2019, 3, 25
    )


def test_markdown_heading_without_space_after_meta_line() -> None:
    payload = (
        "<meta http-equiv='Content-Type' content='text/html; charset=utf-8' />\n\n"
        "##Regeling *AMIF* en ISF 2014–2020\n\nTekst van de regeling.  \n"
    ).encode()
    doc = document(payload, resource_name="README.md")
    assert doc["media_type"] == "text/markdown"
    assert doc["title"] == "Regeling AMIF en ISF 2014–2020"
    assert doc["body_text"] == payload.decode()


def test_markdown_without_heading_uses_first_line() -> None:
    doc = document(b"\n\nSee [the plan](http://x.eu) for <b>cities</b>\n\nBody", resource_name="a.md")
    assert doc["title"] == "See the plan for cities"


def test_media_type_option_overrides_extension() -> None:
    doc = document(b"# Heading\n\ntext", resource_name="download", media_type="text/markdown")
    assert (doc["media_type"], doc["title"]) == ("text/markdown", "Heading")


def test_html_main_text_without_script() -> None:
    payload = b"""<!doctype html><html><head><title>Cities &amp; Migrants</title>
    <script>var tracking = "secret";</script><style>p { color: red }</style></head>
    <body><nav>Home | About</nav><main><h1>Integration report</h1>
    <p>Twenty-two cities <b>signed</b> the charter.</p><script>alert("x")</script>
    <p>Second   paragraph.</p></main><footer>Imprint</footer></body></html>"""
    doc = document(payload, resource_name="report.html")
    assert doc["media_type"] == "text/html"
    assert doc["title"] == "Cities & Migrants"
    assert doc["body_text"] == "Integration report\n\nTwenty-two cities signed the charter.\n\nSecond paragraph."
    assert "secret" not in doc["body_text"] and "alert" not in doc["body_text"]


def test_html_without_main_uses_body() -> None:
    doc = document(b"<body><h1>Agenda</h1><script>x()</script><p>Day one</p></body>", resource_name="a.htm")
    assert (doc["title"], doc["body_text"]) == ("Agenda", "Agenda\n\nDay one")


def test_pdf_text_and_metadata_title() -> None:
    payload = make_pdf(["Integration report 2024", "Berlin funded 12 projects."], title="City report")
    doc = document(payload, resource_name="report.pdf")
    assert doc["media_type"] == "application/pdf"
    assert doc["title"] == "City report"
    assert doc["body_text"] == "Integration report 2024\nBerlin funded 12 projects."
    assert doc["document_id"] == hashlib.sha256(payload).hexdigest()


def test_pdf_without_metadata_title_uses_first_line() -> None:
    doc = document(make_pdf(["Annual report", "Text"]), resource_name="r.pdf")
    assert doc["title"] == "Annual report"


@pytest.mark.parametrize("payload", [b"%PDF-1.4\n1 0 obj garbage", b"plain words, not a PDF", make_pdf(["x"])[:300]])
def test_corrupt_pdf(payload: bytes) -> None:
    with pytest.raises(ParseError, match="corrupt or unreadable PDF"):
        document(payload, resource_name="bad.pdf")


def test_pdf_without_text() -> None:
    with pytest.raises(ParseError, match="no extractable text"):
        document(make_pdf([]), resource_name="scan.pdf")


@pytest.mark.parametrize("payload", [b"", b"  \n\t\r\n"])
def test_empty_document(payload: bytes) -> None:
    with pytest.raises(ParseError, match="empty"):
        document(payload, resource_name="empty.txt")


def test_cp1252_fallback() -> None:
    doc = document("Caf\u00e9 \u2013 Bericht\nText".encode("cp1252"), resource_name="a.txt")
    assert doc["title"] == "Café – Bericht"


@pytest.mark.parametrize("payload", [b"\x81\x8d\x90 bytes", "UTF-16 text".encode("utf-16")])
def test_undecodable_text(payload: bytes) -> None:
    with pytest.raises(ParseError, match="neither UTF-8 nor cp1252|NUL bytes"):
        document(payload, resource_name="a.txt")


def test_unknown_extension() -> None:
    with pytest.raises(ParseError, match="media_type option"):
        document(b"data", resource_name="archive.zip")


def facts_of(doc: dict) -> list[dict]:
    return json.loads(doc["facts"])


def test_facts_column_holds_the_extractor_records_with_offsets_into_the_body_text() -> None:
    name = "eurocities_wg_migration_update_2019.txt"
    doc = document((REPORTS / name).read_bytes(), resource_name=name)
    facts = facts_of(doc)
    assert facts and all(fact["doc"] == name for fact in facts)
    assert all(doc["body_text"][fact["start"] : fact["end"]] == fact["text"] for fact in facts)
    [money] = [fact for fact in facts if fact["kind"] == "money"]
    assert (money["text"], money["amount"], money["currency"]) == ("€200 million", 200000000, "EUR")
    conference = next(fact for fact in facts if fact["kind"] == "event" and fact["text"].startswith("Integrating"))
    assert (conference["start_date"], conference["city"], conference["city_country_code"]) == (
        "2018-11-07",
        "Milan",
        "IT",
    )


def test_publication_year_completes_dates_without_a_year() -> None:
    payload = b"Update\n\nThe working group will meet in Lyon on 12 June to plan the next call."
    dated = facts_of(document(payload, resource_name="u.txt", published_on="2023-05-02"))
    [date_fact] = [fact for fact in dated if fact["kind"] == "date"]
    assert (date_fact["start_date"], date_fact["year_inferred"]) == ("2023-06-12", True)
    assert not [fact for fact in facts_of(document(payload, resource_name="u.txt")) if fact["kind"] == "date"]


def test_html_metadata_publisher_language_and_date() -> None:
    payload = b"""<!doctype html><html lang="en-GB"><head><title>Housing briefing</title>
    <meta property="og:site_name" content="Eurocities">
    <meta property="article:published_time" content="2024-03-01T09:30:00+01:00">
    </head><body><main><p>Twelve cities met in Ghent.</p></main></body></html>"""
    doc = document(payload, resource_name="briefing.html")
    assert (doc["publisher"], doc["language"], doc["published_on"]) == ("Eurocities", "en", date(2024, 3, 1))


def test_registry_options_win_over_document_metadata() -> None:
    payload = b'<html lang="fr"><head><meta name="dc.publisher" content="Ville"></head><body><p>Texte</p></body></html>'
    doc = document(payload, resource_name="p.html", publisher="City of Lyon", language="en", published_on="2020-01-02")
    assert (doc["publisher"], doc["language"], doc["published_on"]) == ("City of Lyon", "en", date(2020, 1, 2))


def test_markdown_front_matter_is_metadata_not_text() -> None:
    payload = (
        "---\ntitle: Language cafés\ndate: 2024-02-12\nlang: nl-BE\npublisher: Stad Gent\n---\n"
        "# Taalcafés\n\nDe stad opent vijf taalcafés.\n"
    ).encode()
    doc = document(payload, resource_name="cafes.md")
    assert (doc["title"], doc["published_on"], doc["language"], doc["publisher"]) == (
        "Language cafés",
        date(2024, 2, 12),
        "nl",
        "Stad Gent",
    )
    assert doc["body_text"] == "# Taalcafés\n\nDe stad opent vijf taalcafés.\n"


def test_pdf_creation_date_and_language() -> None:
    writer_payload = make_pdf(["Annual report", "Text"], title="Report")
    reader = PdfReader(io.BytesIO(writer_payload))
    writer = PdfWriter(clone_from=reader)
    writer.add_metadata({"/CreationDate": "D:20230915120000+02'00'"})
    writer._root_object[NameObject("/Lang")] = TextStringObject("de-DE")
    buffer = io.BytesIO()
    writer.write(buffer)
    doc = document(buffer.getvalue(), resource_name="r.pdf")
    assert (doc["published_on"], doc["language"]) == (date(2023, 9, 15), "de")


@pytest.mark.parametrize(
    ("path", "language"),
    [
        (REPORTS / "mc2cm_days_2021_concept_note.txt", "en"),
        (PROJECT / "tests" / "eval" / "documents" / "nl_beleidsregels_amif_isf_2014-2020_BWBR0036630.md", "nl"),
    ],
)
def test_language_detected_from_the_text_when_nothing_declares_it(path: Path, language: str) -> None:
    assert document(path.read_bytes(), resource_name=path.name)["language"] == language


def test_language_unknown_for_short_or_mixed_text() -> None:
    assert detect_language("Agenda") is None
    assert detect_language("the and of to is " + "de het een van en ") is None


def test_generic_server_media_type_falls_back_to_the_extension() -> None:
    doc = document(b"# Agenda\n\nText", resource_name="agenda.md", media_type="application/octet-stream")
    assert (doc["media_type"], doc["title"]) == ("text/markdown", "Agenda")
    with pytest.raises(ValueError, match="unsupported media_type 'image/png'"):
        document(b"\x89PNG", resource_name="download", media_type="image/png")
