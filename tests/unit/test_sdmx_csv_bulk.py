"""sdmx_csv's bulk path (``parse_arrays_file``: a landed file → one streamed ``ArrayBatch``) yields what the row
parser (``parse_file``) yields for the same file: the same rows in the same order, the same rejected records with
their reasons and text, the same notes; on every SDMX-CSV sample and fixture file, variants of the real city file,
and generated downloads with bad records mixed in, read in blocks small enough that the bad records fall in many
blocks; blocks of plain records are read column-wise, not by the row parser."""

from __future__ import annotations

import gzip
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_parse_sdmx_csv import VARIANTS, _records

from observatory.parse import Note, ParseError, Rejected, sdmx_csv, sdmx_csv_columns
from observatory.warehouse.raw_tables import RAW_TABLES
from observatory_dev.generators.sdmx_csv import write_sdmx_csv

PROJECT = Path(__file__).resolve().parents[2]
SDMX_FILES = sorted(
    path for folder in ("sample_data/eurostat", "tests/fixtures/eurostat") for path in (PROJECT / folder).glob("*.csv")
)
CITIES = PROJECT / "tests/fixtures/eurostat/estat_urb_cpopcb_sdmxcsv2_labels.csv"
SMALL_BLOCK = 8 * 1024  # about 40 generated records, 45 lines of the city file
COLUMNS = RAW_TABLES["eurostat_observation"].column_names


def _row_path(path: Path, options: dict[str, Any]) -> tuple[list[tuple], list[Rejected | Note]]:
    parsed = list(sdmx_csv.parse_file(path, options))
    return [item for item in parsed if isinstance(item, tuple)], [
        item for item in parsed if not isinstance(item, tuple)
    ]


def _bulk_path(path: Path, options: dict[str, Any], block_bytes: int) -> tuple[list[tuple], list[Rejected | Note]]:
    """The batch's rows decoded back into the raw table's tuples, and what it told ``on_message``."""
    messages: list[Rejected | Note] = []
    batch = sdmx_csv_columns.parse_arrays_file(path, options, messages.append, block_bytes)
    rows: list[tuple] = []
    for part in batch.parts:
        columns = dict(zip(batch.columns, part, strict=True))
        size = len(part[0])
        cells = []
        for name in COLUMNS:
            if name in batch.constants:
                cells.append([batch.constants[name]] * size)
            elif name in batch.dictionaries:
                assert columns[name].dtype == np.int32
                values = np.array([*batch.dictionaries[name], None], dtype=object)  # code -1 → None
                cells.append(values[columns[name]].tolist())
            else:
                cells.append([None if math.isnan(value) else value for value in columns[name].tolist()])
        rows += zip(*cells, strict=True)
    return rows, messages


def _same(path: Path, options: dict[str, Any] | None = None, block_bytes: int = SMALL_BLOCK) -> list[tuple]:
    rows, messages = _row_path(path, options or {})
    assert _bulk_path(path, options or {}, block_bytes) == (rows, messages)
    return rows


@pytest.fixture
def rows_read_by_rows(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Rows the bulk path left to the row parser (one count per call), the parser itself unchanged."""
    counts: list[int] = []
    record_rows = sdmx_csv_columns.record_rows

    def counted(*args: Any) -> Iterator[tuple | Rejected | Note]:
        counts.append(0)
        for item in record_rows(*args):
            counts[-1] += isinstance(item, tuple)
            yield item

    monkeypatch.setattr(sdmx_csv_columns, "record_rows", counted)
    return counts


def test_every_sample_and_fixture_file_is_compared() -> None:
    assert len(SDMX_FILES) >= 2


@pytest.mark.parametrize("block_bytes", [sdmx_csv_columns.BLOCK_BYTES, SMALL_BLOCK])
@pytest.mark.parametrize("path", SDMX_FILES, ids=lambda path: str(path.relative_to(PROJECT)))
def test_sample_and_fixture_files(path: Path, block_bytes: int, rows_read_by_rows: list[int]) -> None:
    assert len(_same(path, block_bytes=block_bytes)) == 4245
    assert rows_read_by_rows == []  # the real export, CRLF and quoted labels, is read column-wise throughout


@pytest.mark.parametrize("variant", VARIANTS)
def test_variants_of_the_city_file(variant: Callable[[list[list[str]]], bytes], tmp_path: Path) -> None:
    path = tmp_path / "variant.csv"
    path.write_bytes(variant(_records(CITIES.read_bytes())))
    assert len(_same(path)) == 4245


@pytest.fixture(scope="module")
def download(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """The lines of a generated SDMX-CSV 2.0 download with labels (header first), as the bench serves it."""
    path = tmp_path_factory.mktemp("sdmx") / "download.csv.gz"
    write_sdmx_csv(path, 10_000)
    return gzip.decompress(path.read_bytes()).splitlines(keepends=True)


def _fields(line: bytes) -> list[bytes]:
    """A generated record's fields (only the dataset's name is quoted, and holds no quote)."""
    head, name, rest = line.rstrip(b"\n").split(b'"')
    return [*head.split(b",")[:-1], b'"' + name + b'"', *rest.split(b",")[1:]]


def _changed(line: bytes, **cells: bytes) -> bytes:
    """A generated record with the cells of the named header columns replaced."""
    fields = _fields(line)
    for name, value in cells.items():
        fields[HEADER.index(name)] = value
    return b",".join(fields) + b"\n"


HEADER: list[str] = []


def _with_bad_records(lines: list[bytes]) -> list[bytes]:
    """The download with, every 600 records, one of the records the row parser rejects, skips or reads oddly."""
    HEADER[:] = lines[0].decode().rstrip("\n").split(",")
    record = lines[1]
    odd = [
        _changed(record, OBS_VALUE=b"12x"),  # not a number: rejected
        _changed(record, OBS_VALUE=b"1e999"),  # not finite: rejected
        _changed(record, OBS_VALUE=b"1.5e3"),  # a number, not a plain one: read by the row parser
        _changed(record, OBS_VALUE=b" 17 "),  # spaces around a number
        _changed(record, OBS_FLAG=b"zz", OBS_VALUE=b"NaN"),  # an unknown flag on a missing value
        _changed(record, OBS_VALUE=b"", OBS_FLAG=b"", CONF_STATUS=b""),  # nothing: skipped
        _changed(record, citizen=b""),  # a missing dimension code: rejected
        _changed(record, TIME_PERIOD=b" "),  # a blank period: rejected
        _changed(record, STRUCTURE_ID=b"not a (code"),  # no dataset code: rejected
        _changed(record, STRUCTURE_ID=b"ESTAT:OTHER(1.0)"),  # another dataset: a note, then its rows
        record.replace(b",", b"", 1),  # a field short: rejected
        record,  # a duplicate key: loaded twice, as the row parser does (the gate's business)
        _changed(record, **{HEADER[4]: b"Annu\xe9l"}),  # a label that is not UTF-8: rejected
        b"\n",  # a blank line
        b",,,,,,\n",  # empty fields only: skipped as blank
        b'dataflow,"a""b",x\n',  # a doubled quote (and a field count): from here the row parser reads the rest
    ]
    out = lines[:1]
    for number, line in enumerate(lines[1:]):
        out.append(line)
        if number % 600 == 300 and number // 600 < len(odd):
            out.append(odd[number // 600])
    return out


def _write(path: Path, lines: list[bytes], packed: bool = True) -> Path:
    data = b"".join(lines)
    path.write_bytes(gzip.compress(data, compresslevel=1) if packed else data)
    return path


def test_a_plain_download_is_read_column_wise(download: list[bytes], tmp_path: Path, rows_read_by_rows) -> None:
    assert len(_same(_write(tmp_path / "plain.csv.gz", download))) == 10_000
    assert rows_read_by_rows == []


def test_bad_records_mixed_in(download: list[bytes], tmp_path: Path, rows_read_by_rows: list[int]) -> None:
    lines = _with_bad_records(download)
    path = _write(tmp_path / "bad.csv.gz", lines)
    rows, messages = _row_path(path, {})
    rejected = [item for item in messages if isinstance(item, Rejected)]
    reasons = [item.reason for item in rejected]
    assert len(rejected) == 8, reasons
    assert "OBS_VALUE '12x' is not a number" in reasons and "empty code for citizen" in reasons
    other = lines.index(_changed(lines[1], STRUCTURE_ID=b"ESTAT:OTHER(1.0)")) + 1
    assert Note(f"line {other}", "dataset code other from ESTAT:OTHER(1.0)") in messages
    assert _bulk_path(path, {}, SMALL_BLOCK) == (rows, messages)
    assert 0 < sum(rows_read_by_rows) < len(rows) // 5  # the blocks with a bad record, not the whole file
    rows_read_by_rows.clear()
    assert _bulk_path(path, {}, sdmx_csv_columns.BLOCK_BYTES) == (rows, messages)  # one block: the row parser's
    assert _bulk_path(path, {"dataset_code": "mine"}, SMALL_BLOCK) == _row_path(path, {"dataset_code": "mine"})


@pytest.mark.parametrize(
    ("name", "odd"),
    [
        ("quoted line break", lambda line: line.replace(b'"', b'"two\nlines', 1)),
        ("doubled quote", lambda line: line.replace(b'"', b'"a ""quoted"" ', 1)),
        ("stray quote", lambda line: line.replace(b",A,", b',A"x,', 1)),
        ("lone CR", lambda line: line.replace(b"\n", b"\r")),
        ("NUL", lambda line: line.replace(b",A,", b",A\x00,", 1)),
    ],
)
def test_records_that_span_lines_or_might(
    download: list[bytes], tmp_path: Path, name: str, odd: Callable[[bytes], bytes], rows_read_by_rows: list[int]
) -> None:
    """From the block with such a record on, the row parser reads the rest of the file as one stream."""
    lines = [*download[:6_000], odd(download[6_000]), *download[6_001:]]
    assert len(_same(_write(tmp_path / "odd.csv.gz", lines))) >= 9_999
    assert 3_000 < sum(rows_read_by_rows) < 5_000 and len(rows_read_by_rows) == 1, (name, rows_read_by_rows)


def test_crlf_plain_file_and_no_final_line_break(download: list[bytes], tmp_path: Path, rows_read_by_rows) -> None:
    lines = [line.replace(b"\n", b"\r\n") for line in download]
    lines[-1] = lines[-1].rstrip(b"\r\n")
    assert len(_same(_write(tmp_path / "crlf.csv", lines, packed=False))) == 10_000
    assert rows_read_by_rows == []


def test_a_header_that_is_not_sdmx_csv_raises_at_once(tmp_path: Path) -> None:
    path = _write(tmp_path / "not.csv", [b"freq,geo\\TIME_PERIOD\t2023\n"], packed=False)
    with pytest.raises(ParseError, match="header does not start with DATAFLOW or STRUCTURE"):
        sdmx_csv_columns.parse_arrays_file(path, {}, lambda message: None)
