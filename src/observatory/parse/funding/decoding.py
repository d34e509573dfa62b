"""Bytes → text: the configured encoding, UTF-8 (perhaps with damaged bytes) or UTF-16, else a detected code page.

The text streams: the payload is read once to check (or choose) the encoding and once more as text, a chunk at a
time; only a payload in none of the Unicode encodings is read whole, for charset-normalizer to judge the bytes.
"""

from __future__ import annotations

import codecs
import io
from typing import TextIO

from observatory.parse import Note, ParseError
from observatory.parse.compression import Opener

CHUNK_BYTES = 1024 * 1024

# legacy code pages EU beneficiary lists come in; the code page of a country's language breaks ties
LEGACY_ENCODINGS = (
    "cp1252",
    "cp1250",
    "cp1251",
    "cp1253",
    "cp1254",
    "cp1257",
    "iso8859_2",
    "iso8859_7",
    "iso8859_13",
    "iso8859_15",
)
_COUNTRY_CODE_PAGE = {
    **dict.fromkeys(("HR", "CZ", "SK", "PL", "HU", "SI", "RO", "AL", "BA", "RS", "ME"), "cp1250"),
    **dict.fromkeys(("GR", "CY"), "cp1253"),
    **dict.fromkeys(("BG", "MK", "UA"), "cp1251"),
    **dict.fromkeys(("LT", "LV", "EE"), "cp1257"),
    "TR": "cp1254",
}
DAMAGED_UTF8 = "encoding: UTF-8 with damaged bytes"


def open_text(opener: Opener, encoding: str | None, country_code: str | None = None) -> tuple[TextIO, Note | None]:
    """The text of the payload ``opener`` opens (lines untranslated, as ``csv`` wants them) and, when its encoding
    was detected, a note saying which it is."""
    if encoding:
        try:
            _check(opener, encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise ParseError(f"funding CSV is not valid {encoding}: {exc}") from exc
        return _text(opener, encoding), None
    with opener() as stream:
        start = stream.read(2)
    if start in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        try:
            _check(opener, "utf-16")
        except UnicodeDecodeError as exc:
            raise ParseError(f"funding CSV starts with a UTF-16 byte order mark but is not UTF-16: {exc}") from exc
        return _text(opener, "utf-16"), Note("file", "encoding: UTF-16 (byte order mark)")
    try:
        _check(opener, "utf-8-sig")
    except UnicodeDecodeError:
        pass
    else:
        return _text(opener, "utf-8-sig"), None
    bad = good = 0
    with _text(opener, "utf-8-sig", "replace") as text:
        while chunk := text.read(CHUNK_BYTES):
            bad += chunk.count("\ufffd")
            good += sum(1 for char in chunk if char > "\x7f")
    good -= bad
    if good >= 2 * bad:  # UTF-8 with a few damaged bytes (a cut download, a stray byte), not a legacy code page
        note = Note("file", f"{DAMAGED_UTF8}: {bad} invalid byte sequence(s), the records holding them rejected")
        return _text(opener, "utf-8-sig", "replace"), note
    with opener() as stream:
        detected, note = _detected(stream.read(), country_code)
    return io.StringIO(detected, newline=""), note


def _check(opener: Opener, encoding: str) -> None:
    """Raise what ``bytes.decode(encoding)`` of the whole payload raises (``LookupError``, ``UnicodeDecodeError``),
    reading it a chunk at a time. The error of an invalid byte is raised by decoding the payload whole once more, so
    that it names the byte's position in the payload."""
    b"".decode(encoding)  # an unknown name, or no text encoding: the LookupError bytes.decode raises
    decoder = codecs.getincrementaldecoder(encoding)()
    with opener() as stream:
        try:
            while chunk := stream.read(CHUNK_BYTES):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
            return
        except UnicodeDecodeError:
            pass
    with opener() as stream:
        stream.read().decode(encoding)


def _text(opener: Opener, encoding: str, errors: str = "strict") -> TextIO:
    return io.TextIOWrapper(opener(), encoding=encoding, errors=errors, newline="")


def _detected(payload: bytes, country_code: str | None) -> tuple[str, Note]:
    """Decode a payload that is not UTF-8 with the legacy code page charset-normalizer finds most plausible."""
    from charset_normalizer import from_bytes

    matches = list(from_bytes(payload, cp_isolation=list(LEGACY_ENCODINGS)))
    if not matches:
        raise ParseError(
            "funding CSV is not UTF-8 and not in a code page charset-normalizer recognises; set the encoding option"
        )
    best = matches[0]
    chosen, why = best.encoding, "the most plausible"
    # of equally plausible code pages, the one of the country's language; without a country, charset-normalizer's
    preferred = _COUNTRY_CODE_PAGE.get(str(country_code).upper(), "cp1252") if country_code else best.encoding
    for match in matches:
        if match.chaos > best.chaos + 0.01 or match.coherence < best.coherence - 0.01:
            break
        if preferred in match.could_be_from_charset:
            if preferred != best.encoding:
                chosen, why = preferred, f"{preferred} for country {country_code or '?'} of the equally plausible"
            break
    try:
        text = payload.decode(chosen)
    except (UnicodeDecodeError, LookupError) as exc:  # charset-normalizer samples large payloads
        raise ParseError(f"funding CSV is not UTF-8 and not valid {chosen} either: {exc}; set the encoding") from exc
    languages = ", ".join(best.languages[:2]) or "unknown language"
    return text, Note("file", f"encoding: not UTF-8; detected {chosen} ({why}; {languages}; charset-normalizer)")
