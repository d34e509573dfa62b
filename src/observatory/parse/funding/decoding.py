"""Bytes → text: the configured encoding, UTF-8 (perhaps with damaged bytes) or UTF-16, else a detected code page."""

from __future__ import annotations

import codecs

from observatory.parse import Note, ParseError

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


def decode_payload(payload: bytes, encoding: str | None, country_code: str | None = None) -> tuple[str, Note | None]:
    """The text of the payload and, when its encoding was detected, a note saying which it is."""
    if encoding:
        try:
            return payload.decode(encoding), None
        except (UnicodeDecodeError, LookupError) as exc:
            raise ParseError(f"funding CSV is not valid {encoding}: {exc}") from exc
    if payload.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return payload.decode("utf-16"), Note("file", "encoding: UTF-16 (byte order mark)")
        except UnicodeDecodeError as exc:
            raise ParseError(f"funding CSV starts with a UTF-16 byte order mark but is not UTF-16: {exc}") from exc
    try:
        return payload.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    text = payload.decode("utf-8-sig", errors="replace")
    bad = text.count("\ufffd")
    good = sum(1 for char in text if char > "\x7f") - bad
    if good >= 2 * bad:  # UTF-8 with a few damaged bytes (a cut download, a stray byte), not a legacy code page
        return text, Note("file", f"{DAMAGED_UTF8}: {bad} invalid byte sequence(s), the records holding them rejected")
    return _detected(payload, country_code)


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
