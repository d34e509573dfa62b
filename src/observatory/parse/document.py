"""Published reports (plain text, Markdown, HTML, PDF) → one ``report_document`` row per payload, with its facts.

Options: ``resource_name``, ``media_type`` (else, or when it is not a supported type, the one of the
``resource_name`` extension), ``publisher``, ``language`` (ISO 639-1), ``published_on`` (ISO date).
An option given in the registry wins; otherwise the document's own metadata is used where its format
has any (HTML ``<html lang>`` and ``<meta>`` tags, PDF document information and ``/Lang``, Markdown
YAML front matter), and the language is detected from the commonest function words of the text as a
last resort; else NULL.

``body_text`` is what fact extraction runs on and what its offsets point into: plain text and Markdown
are kept as decoded (BOM and NUL characters removed; Markdown front matter dropped), HTML is reduced to
its main text (``<main>``/``<article>`` when present; script, style, navigation and footers dropped),
PDF is the pypdf text of all pages separated by blank lines.

A feed (RSS or Atom, landed by the ``feed`` collector next to the documents it links) yields no row.

``facts`` is the JSON array of the :func:`observatory.extract.extract_facts` records of ``body_text``
(``doc`` = ``resource_name``); dates written without a year take the year of ``published_on`` if known.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import astuple, dataclass
from datetime import date, datetime
from html.parser import HTMLParser
from pathlib import PurePosixPath
from typing import Any

import orjson
import yaml
from pypdf import PdfReader

from observatory.extract import extract_facts
from observatory.extract.language import detect_language
from observatory.parse import ParseError
from observatory.parse.front_matter import load_front_matter

RAW_TABLE = "report_document"

MEDIA_TYPES = {
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".html": "text/html",
    ".htm": "text/html",
    ".pdf": "application/pdf",
}
_HEADING = re.compile(r" {0,3}#{1,6}(?!#)\s*(\S.*)")
_TAG = re.compile(r"<[^>]*>")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
FEED_MEDIA_TYPES = frozenset({"application/rss+xml", "application/atom+xml"})
_EMPHASIS = re.compile(r"[*`]+|(?<!\w)_+|_+(?!\w)")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_ISO_DATE = re.compile(r"(\d{4})[-/](\d{2})[-/](\d{2})")
_LANGUAGE_TAG = re.compile(r"([A-Za-z]{2})(?:[-_][A-Za-z0-9]+)*")


@dataclass(frozen=True)
class Extracted:
    """What a format's extractor finds in the payload: the text and whatever metadata the format carries."""

    title: str | None
    body_text: str
    publisher: str | None = None
    language: str | None = None
    published_on: date | None = None


@dataclass(frozen=True)
class ReportDocument:
    """A ``report_document`` row without its facts (fields in the raw table's column order)."""

    document_id: str
    resource_name: str | None
    media_type: str
    title: str | None
    publisher: str | None
    language: str | None
    published_on: date | None
    body_text: str


def parse(payload: bytes, options: Mapping[str, Any]) -> Iterator[tuple]:
    """Yield the single ``report_document`` row of ``payload``, facts included (none for a feed)."""
    if options.get("media_type") in FEED_MEDIA_TYPES:
        return
    document = read_document(payload, options)
    year = document.published_on.year if document.published_on else None
    facts = extract_facts(document.body_text, document_year=year)
    records = [fact.to_record(document.resource_name) for fact in facts]
    yield (*astuple(document), orjson.dumps(records).decode("utf-8"))


def read_document(payload: bytes, options: Mapping[str, Any]) -> ReportDocument:
    """The document's text and metadata (registry options first, then the document's own, see above)."""
    resource_name = options.get("resource_name")
    if not payload.strip():
        raise ParseError(f"document {resource_name!r} is empty")
    media_type = options.get("media_type") or media_type_for(resource_name)
    if media_type not in EXTRACTORS:  # a server's generic type (application/octet-stream): trust the extension
        try:
            media_type = media_type_for(resource_name)
        except ParseError:
            raise ValueError(f"unsupported media_type {media_type!r}; expected one of {sorted(EXTRACTORS)}") from None
    extracted = EXTRACTORS[media_type](payload)
    body = extracted.body_text.replace("\x00", "")
    if not body.strip():
        raise ParseError(f"document {resource_name!r} ({media_type}) has no extractable text")
    return ReportDocument(
        document_id=hashlib.sha256(payload).hexdigest(),
        resource_name=resource_name,
        media_type=media_type,
        title=extracted.title,
        publisher=options.get("publisher") or extracted.publisher,
        language=options.get("language") or extracted.language or detect_language(body),
        published_on=_published_on(options.get("published_on")) or extracted.published_on,
        body_text=body,
    )


def media_type_for(resource_name: str | None) -> str:
    """The media type implied by the file extension of ``resource_name``."""
    suffix = PurePosixPath(resource_name or "").suffix.lower()
    if suffix not in MEDIA_TYPES:
        raise ParseError(f"cannot tell the media type of {resource_name!r}; set the media_type option")
    return MEDIA_TYPES[suffix]


def _published_on(value: date | str | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"published_on option is not an ISO date: {value!r}") from exc


def decode_text(payload: bytes) -> str:
    """UTF-8 (BOM stripped), falling back to cp1252; binary data raises ParseError."""
    if b"\x00" in payload:
        raise ParseError("text document contains NUL bytes (binary or UTF-16 data?)")
    try:
        return payload.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return payload.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise ParseError(f"text document is neither UTF-8 nor cp1252: {exc}") from exc


def clean_title(line: str) -> str | None:
    """A heading or first line without leading '#', HTML tags, link targets and emphasis marks."""
    text = _LINK.sub(r"\1", _TAG.sub("", line.strip().lstrip("#")))
    text = " ".join(_EMPHASIS.sub("", text).split())
    return text or None


def _iso_date(value: Any) -> date | None:
    """A date from a metadata value: a date, a datetime or a string starting with an ISO date."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    match = _ISO_DATE.match(str(value or "").strip())
    if not match:
        return None
    try:
        return date(*map(int, match.groups()))
    except ValueError:
        return None


def _language_code(value: Any) -> str | None:
    """The ISO 639-1 part of a language tag ("en-GB", "nl_NL", "EN") or None."""
    match = _LANGUAGE_TAG.fullmatch(str(value or "").strip())
    return match.group(1).lower() if match else None


def _text_value(value: Any) -> str | None:
    text = " ".join(str(value).split()) if value is not None else ""
    return text or None


def _content_lines(text: str) -> Iterator[str]:
    """Non-empty lines that are not only HTML markup (e.g. a leading ``<meta>`` line)."""
    for line in text.splitlines():
        if _TAG.sub("", line).strip():
            yield line


def _first_line_title(text: str) -> str | None:
    return next((clean_title(line) for line in _content_lines(text)), None)


def extract_plain(payload: bytes) -> Extracted:
    text = decode_text(payload)
    return Extracted(_first_line_title(text), text)


def extract_markdown(payload: bytes) -> Extracted:
    """Markdown; YAML front matter (``title``, ``date``, ``lang``/``language``, ``publisher``) is metadata."""
    text = decode_text(payload)
    meta: dict[str, Any] = {}
    front = _FRONT_MATTER.match(text)
    if front:
        try:
            loaded = load_front_matter(front.group(1))
        except yaml.YAMLError as exc:
            raise ParseError(f"Markdown front matter is not valid YAML: {exc}") from exc
        meta = loaded if isinstance(loaded, dict) else {}
        text = text[front.end() :]
    headings = (m.group(1) for m in map(_HEADING.fullmatch, text.splitlines()) if m)
    heading = next(headings, None)
    title = _text_value(meta.get("title")) or (clean_title(heading) if heading else _first_line_title(text))
    return Extracted(
        title,
        text,
        publisher=_text_value(meta.get("publisher")),
        language=_language_code(meta.get("lang") or meta.get("language")),
        published_on=_iso_date(meta.get("date") or meta.get("published") or meta.get("published_on")),
    )


def extract_html(payload: bytes) -> Extracted:
    extractor = _HTMLText()
    extractor.feed(decode_text(payload))
    extractor.close()
    body = extractor.body_text()
    meta = extractor.meta
    return Extracted(
        extractor.title() or _first_line_title(body),
        body,
        publisher=next((meta[key] for key in _HTMLText.PUBLISHER_KEYS if meta.get(key)), None),
        language=_language_code(extractor.lang or next((meta[k] for k in _HTMLText.LANGUAGE_KEYS if k in meta), "")),
        published_on=next((_iso_date(meta[k]) for k in _HTMLText.DATE_KEYS if _iso_date(meta.get(k))), None),
    )


@contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """pypdf logs what it repairs in malformed files; what cannot be read raises ``ParseError`` instead."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def extract_pdf(payload: bytes) -> Extracted:
    """PDF text; title, creation date and ``/Lang`` from the document information and catalogue."""
    try:
        with _quiet_pypdf():
            reader = PdfReader(io.BytesIO(payload))
            pages = [page.extract_text() or "" for page in reader.pages]
            info = reader.metadata
            meta_title = info.title if info else None
            created = info.creation_date if info else None
            language = reader.root_object.get("/Lang")
    except Exception as exc:  # pypdf raises many exception types on malformed input
        raise ParseError(f"corrupt or unreadable PDF: {exc}") from exc
    body = "\n\n".join(page.strip() for page in pages)
    title = meta_title.strip() if isinstance(meta_title, str) and meta_title.strip() else None
    return Extracted(
        title or _first_line_title(body), body, language=_language_code(language), published_on=_iso_date(created)
    )


EXTRACTORS: dict[str, Callable[[bytes], Extracted]] = {
    "text/plain": extract_plain,
    "text/markdown": extract_markdown,
    "text/html": extract_html,
    "application/pdf": extract_pdf,
}


class _HTMLText(HTMLParser):
    """Visible text of an HTML page, preferring ``<main>``/``<article>`` over the whole body."""

    SKIP = frozenset({"script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "svg"})
    MAIN = frozenset({"main", "article"})
    PUBLISHER_KEYS = ("og:site_name", "publisher", "dc.publisher", "dcterms.publisher")
    LANGUAGE_KEYS = ("content-language", "dc.language", "dcterms.language", "og:locale")
    DATE_KEYS = (
        "article:published_time",
        "citation_publication_date",
        "dcterms.issued",
        "dcterms.date",
        "dc.date.issued",
        "dc.date",
        "date",
        "pubdate",
        "publication_date",
    )
    BLOCK = frozenset(
        {"p", "div", "br", "li", "ul", "ol", "tr", "table", "section", "blockquote", "pre", "hr", "dd", "dt"}
        | {"h1", "h2", "h3", "h4", "h5", "h6", "figcaption", "main", "article", "title"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._skip = 0
        self._main = 0
        self._in_title = False
        self._title: list[str] = []
        self._all: list[str] = []
        self._main_text: list[str] = []
        self.lang: str | None = None
        self.meta: dict[str, str] = {}  # first value of each <meta> name, property or http-equiv, lower-case

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("html", "meta"):
            self._metadata(tag, dict(attrs))
        if tag == "title":
            self._in_title = True
        elif tag in self.SKIP:
            self._skip += 1
        elif tag in self.MAIN:
            self._main += 1
        self._break(tag)

    def handle_endtag(self, tag: str) -> None:
        self._break(tag)
        if tag == "title":
            self._in_title = False
        elif tag in self.SKIP:
            self._skip = max(self._skip - 1, 0)
        elif tag in self.MAIN:
            self._main = max(self._main - 1, 0)

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self._title.append(data)
        elif not self._skip:
            self._emit(data)

    def _metadata(self, tag: str, attrs: dict[str, str | None]) -> None:
        if tag == "html":
            self.lang = self.lang or attrs.get("lang") or attrs.get("xml:lang")
            return
        key = attrs.get("name") or attrs.get("property") or attrs.get("http-equiv")
        content = _text_value(attrs.get("content"))
        if key and content:
            self.meta.setdefault(key.lower(), content)

    def _break(self, tag: str) -> None:
        if tag in self.BLOCK and not self._skip:
            self._emit("\n")

    def _emit(self, text: str) -> None:
        self._all.append(text)
        if self._main:
            self._main_text.append(text)

    def title(self) -> str | None:
        return " ".join("".join(self._title).split()) or None

    def body_text(self) -> str:
        chunks = self._main_text if "".join(self._main_text).strip() else self._all
        lines = (" ".join(line.split()) for line in "".join(chunks).splitlines())
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
