"""Published reports (plain text, Markdown, HTML, PDF) → one ``report_document`` row per payload.

Options: ``media_type`` (else guessed from the ``resource_name`` extension), ``resource_name``,
``publisher``, ``language`` (ISO 639-1), ``published_on`` (ISO date; otherwise NULL).

``body_text`` is what later fact extraction runs on and what its offsets point into: plain text
and Markdown are kept as decoded (BOM and NUL characters removed), HTML is reduced to its main
text (``<main>``/``<article>`` when present; script, style, navigation and footers dropped), PDF
is the pypdf text of all pages separated by blank lines.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import date
from html.parser import HTMLParser
from pathlib import PurePosixPath
from typing import Any

from pypdf import PdfReader

from observatory.parse import ParseError

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
_EMPHASIS = re.compile(r"[*`]+|(?<!\w)_+|_+(?!\w)")

Extracted = tuple[str | None, str]  # (title, body_text)


def parse(payload: bytes, options: Mapping[str, Any]) -> Iterator[tuple]:
    """Yield the single ``report_document`` row of ``payload``."""
    resource_name = options.get("resource_name")
    if not payload.strip():
        raise ParseError(f"document {resource_name!r} is empty")
    media_type = options.get("media_type") or media_type_for(resource_name)
    if media_type not in EXTRACTORS:
        raise ValueError(f"unsupported media_type {media_type!r}; expected one of {sorted(EXTRACTORS)}")
    title, body = EXTRACTORS[media_type](payload)
    body = body.replace("\x00", "")
    if not body.strip():
        raise ParseError(f"document {resource_name!r} ({media_type}) has no extractable text")
    yield (
        hashlib.sha256(payload).hexdigest(),
        resource_name,
        media_type,
        title,
        options.get("publisher"),
        options.get("language"),
        _published_on(options.get("published_on")),
        body,
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


def _content_lines(text: str) -> Iterator[str]:
    """Non-empty lines that are not only HTML markup (e.g. a leading ``<meta>`` line)."""
    for line in text.splitlines():
        if _TAG.sub("", line).strip():
            yield line


def _first_line_title(text: str) -> str | None:
    return next((clean_title(line) for line in _content_lines(text)), None)


def extract_plain(payload: bytes) -> Extracted:
    text = decode_text(payload)
    return _first_line_title(text), text


def extract_markdown(payload: bytes) -> Extracted:
    text = decode_text(payload)
    headings = (m.group(1) for m in map(_HEADING.fullmatch, text.splitlines()) if m)
    heading = next(headings, None)
    return (clean_title(heading) if heading else _first_line_title(text)), text


def extract_html(payload: bytes) -> Extracted:
    extractor = _HTMLText()
    extractor.feed(decode_text(payload))
    extractor.close()
    body = extractor.body_text()
    return extractor.title() or _first_line_title(body), body


def extract_pdf(payload: bytes) -> Extracted:
    try:
        reader = PdfReader(io.BytesIO(payload))
        pages = [page.extract_text() or "" for page in reader.pages]
        meta_title = reader.metadata.title if reader.metadata else None
    except Exception as exc:  # pypdf raises many exception types on malformed input
        raise ParseError(f"corrupt or unreadable PDF: {exc}") from exc
    body = "\n\n".join(page.strip() for page in pages)
    title = meta_title.strip() if isinstance(meta_title, str) and meta_title.strip() else None
    return title or _first_line_title(body), body


EXTRACTORS: dict[str, Callable[[bytes], Extracted]] = {
    "text/plain": extract_plain,
    "text/markdown": extract_markdown,
    "text/html": extract_html,
    "application/pdf": extract_pdf,
}


class _HTMLText(HTMLParser):
    """Visible text of an HTML page, preferring ``<main>``/``<article>`` over the whole body."""

    SKIP = frozenset(
        {"script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "svg"}
    )
    MAIN = frozenset({"main", "article"})
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

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
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
