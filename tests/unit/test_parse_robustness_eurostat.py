"""The Eurostat parsers on mutated real files: byte flips, truncation, lines deleted, duplicated or swapped,
bytes and tokens inserted, gzip (then possibly corrupted). Each parser yields only rows, ``Rejected`` and ``Note``,
or raises ``ParseError``; nothing else (no AttributeError, KeyError, TypeError, UnicodeDecodeError, ...)."""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from observatory.parse import Note, ParseError, Rejected, eurostat_tsv, jsonstat, sdmx_csv
from observatory.warehouse.raw_tables import RAW_TABLES

PROJECT = Path(__file__).resolve().parents[2]
FIXTURES = PROJECT / "tests/fixtures/eurostat"
SAMPLES = PROJECT / "sample_data/eurostat"
WIDTH = len(RAW_TABLES["eurostat_observation"].columns)


def _head(path: Path, lines: int = 300) -> bytes:
    """The first lines of a real file (its header included), so that each example parses quickly."""
    return b"".join(path.read_bytes().splitlines(keepends=True)[:lines])


CITIES = _head(FIXTURES / "estat_urb_cpopcb_sdmxcsv2_labels.csv")
EDAT = _head(FIXTURES / "estat_edat_lfs_9912_filtered1.tsv")
ERGAN = (SAMPLES / "estat_lfsa_ergan_filtered.tsv").read_bytes()
POP1CTZ = (SAMPLES / "eurostat_migr_pop1ctz_FR_by_citizen_jsonstat2.json").read_bytes()
LEGACY = (FIXTURES / "eurostat_legacy_wdds_nama_gdp_c_jsonstat1.json").read_bytes()

TOKENS = [
    *(b",", b";", b"\t", b'"', b"\r", b"\n", b"\r\n", b":", b" ", b"\xff", b"\xc3", b"\x00", "\ufeff".encode()),
    *(b"{", b"}", b"[", b"]", b"null", b"true", b"1e999", b"-1", b"NaN", b'"x"', b"99999999999999999999999"),
]


@st.composite
def mutated(draw: st.DrawFn, originals: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(originals)))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(
            st.sampled_from(["flip", "byte", "truncate", "delete", "duplicate", "swap", "insert", "token", "gzip"])
        )
        position = draw(st.integers(0, max(len(data) - 1, 0)))
        lines = bytes(data).split(b"\n")
        line = draw(st.integers(0, len(lines) - 1))
        if op == "flip" and data:
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif op == "byte" and data:
            data[position] = draw(st.integers(0, 255))
        elif op == "truncate":
            data = data[:position]
        elif op == "delete":
            data = bytearray(b"\n".join(lines[:line] + lines[line + 1 :]))
        elif op == "duplicate":
            data = bytearray(b"\n".join(lines[: line + 1] + lines[line:]))
        elif op == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[line], lines[other] = lines[other], lines[line]
            data = bytearray(b"\n".join(lines))
        elif op == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=16))
        elif op == "token":
            data[position:position] = draw(st.sampled_from(TOKENS))
        elif op == "gzip":
            data = bytearray(gzip.compress(bytes(data)))
    return bytes(data)


def _consumed(parse: Callable[[], Iterable[Any]]) -> list[Any] | None:
    """Everything ``parse`` yields, checked item by item; None when it raised ParseError."""
    try:
        items = list(parse())
    except ParseError:
        return None
    for item in items:
        assert isinstance(item, tuple | Rejected | Note), item
        if isinstance(item, tuple):
            assert len(item) == WIDTH
        else:
            assert all(isinstance(text, str) for text in vars(item).values())
    return items


ROBUST = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@ROBUST
@given(mutated([CITIES]))
def test_sdmx_csv_on_mutated_files(payload: bytes) -> None:
    _consumed(lambda: sdmx_csv.parse(payload, {}))


@ROBUST
@given(mutated([EDAT, ERGAN, CITIES]))
def test_eurostat_tsv_on_mutated_files(payload: bytes) -> None:
    _consumed(lambda: eurostat_tsv.parse(payload, {"dataset_code": "edat_lfs_9912"}))


@ROBUST
@given(mutated([POP1CTZ, LEGACY]))
def test_jsonstat_on_mutated_files(payload: bytes) -> None:
    _consumed(lambda: jsonstat.parse(payload, {}))


# --- JSON-stat: mutations that keep the JSON valid, so that they reach the cube's structure ----------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=6,
)


def _mutated_document(draw: st.DrawFn) -> bytes:
    doc = json.loads(POP1CTZ)
    for _ in range(draw(st.integers(1, 3))):
        node, key = _somewhere(draw, doc)
        if key is None:
            continue
        action = draw(st.sampled_from(["replace", "delete", "stringify"]))
        if action == "delete" and isinstance(node, dict):
            del node[key]
        elif action == "stringify":
            node[key] = str(node[key]) if not isinstance(node[key], dict | list) else json.dumps(node[key])
        else:
            node[key] = draw(JSON_VALUES)
    return json.dumps(doc).encode()


def _somewhere(draw: st.DrawFn, doc: Any) -> tuple[Any, Any]:
    """A (container, key) pair reached by walking down from the top, stopping at random (``class`` and
    ``version`` stay: a document that is not JSON-stat 2.0 is refused before anything else is read)."""
    node, key = doc, None
    while isinstance(node, dict | list) and node:
        keys = sorted(set(node) - ({"class", "version"} if node is doc else set())) if isinstance(node, dict) else None
        key = draw(st.sampled_from(keys if keys is not None else range(len(node))))
        child = node[key]
        if not isinstance(child, dict | list) or not child or draw(st.booleans()):
            return node, key
        node = child
    return node, key


def _array_rows(batch: Any) -> list[tuple]:
    names = RAW_TABLES["eurostat_observation"].column_names
    rows = []
    for part in batch.parts:
        columns = dict(zip(batch.columns, part, strict=True))
        for i in range(len(part[0]) if part else 0):
            cell = {}
            for name, column in columns.items():
                item = column[i]
                if name in batch.dictionaries:
                    cell[name] = None if item < 0 else batch.dictionaries[name][item]
                else:
                    cell[name] = None if math.isnan(item) else float(item)
            rows.append(tuple(cell[name] if name in cell else batch.constants[name] for name in names))
    return rows


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_jsonstat_parse_and_bulk_path_on_mutated_cubes(data: st.DataObject) -> None:
    """Mutations that keep the JSON valid (a member replaced, deleted or turned into a string) reach the cube's
    structure; ``parse`` and the bulk path then agree: the same rows, or both a ParseError."""
    payload = _mutated_document(data.draw)
    rows = _consumed(lambda: jsonstat.parse(payload, {}))
    try:
        batch = jsonstat.parse_arrays(payload, {})
    except ParseError:
        assert rows is None, "parse_arrays refused a cube that parse read"
        return
    assert rows is not None, "parse refused a cube that parse_arrays read"
    assert _array_rows(batch) == rows


@pytest.mark.parametrize("payload", [CITIES, EDAT, ERGAN, POP1CTZ, LEGACY, b"", b"\x1f\x8b", gzip.compress(b"")])
def test_every_parser_on_every_file(payload: bytes) -> None:
    """Cross-format: a file of one format given to another parser is a ParseError, not a crash."""
    _consumed(lambda: sdmx_csv.parse(payload, {}))
    _consumed(lambda: eurostat_tsv.parse(payload, {"dataset_code": "x"}))
    _consumed(lambda: jsonstat.parse(payload, {}))
