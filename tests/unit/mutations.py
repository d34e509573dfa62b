"""How the property tests damage real files the way files get damaged in the wild (shared by
tests/unit/test_parse_robustness_*.py): flipped bits, a cut-off end, a lost or doubled line, stray bytes, and, where
a test asks for it, the text re-encoded in a legacy code page."""

from __future__ import annotations

from hypothesis import strategies as st

DAMAGES = ("flip", "truncate", "drop_line", "double_line", "insert")
LEGACY_ENCODINGS = ("cp1250", "cp1252", "cp1253")


def damaged(draw: st.DrawFn, original: bytes, *, reencode: bool = False) -> bytes:
    """``original`` with one to four damages drawn by ``draw``."""
    payload = bytearray(original)
    kinds = (*DAMAGES, "reencode") if reencode else DAMAGES
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(kinds))
        if not payload:
            break
        at = draw(st.integers(0, len(payload) - 1))
        if kind == "flip":
            payload[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate":
            del payload[at:]
        elif kind in ("drop_line", "double_line"):
            lines = bytes(payload).split(b"\n")
            index = draw(st.integers(0, len(lines) - 1))
            lines[index : index + 1] = [] if kind == "drop_line" else [lines[index]] * 2
            payload = bytearray(b"\n".join(lines))
        elif kind == "insert":
            payload[at:at] = draw(st.binary(min_size=1, max_size=16))
        else:
            text = bytes(payload).decode("utf-8", errors="replace")
            payload = bytearray(text.encode(draw(st.sampled_from(LEGACY_ENCODINGS)), errors="replace"))
    return bytes(payload)
