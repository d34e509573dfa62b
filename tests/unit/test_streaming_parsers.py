"""The line-oriented parsers read a file as a stream (``parse_file``, gunzipped as it is read): the same output as
``parse`` of the bytes for every sample and fixture file, gzip or not; memory bounded by a line, not the file; the
decompressed-size cap and every gzip error kept."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from test_parse_robustness_funding import ORIGINALS as FUNDING_FILES

from observatory.parse import ParseError, eurostat_tsv, funding_csv, sdmx_csv
from observatory.parse.compression import decompressed

PROJECT = Path(__file__).resolve().parents[2]
EUROSTAT_DIRS = (PROJECT / "sample_data" / "eurostat", PROJECT / "tests" / "fixtures" / "eurostat")
TSV_FILES = sorted(path for folder in EUROSTAT_DIRS for path in folder.glob("*.tsv"))
SDMX_FILES = sorted(path for folder in EUROSTAT_DIRS for path in folder.glob("*.csv"))
FUNDING_CSV = sorted(path for path in FUNDING_FILES if path.suffix == ".csv")

CASES: list[tuple[Any, Path, Mapping[str, Any]]] = [
    *((eurostat_tsv, path, {"dataset_code": path.stem}) for path in TSV_FILES),
    *((sdmx_csv, path, {}) for path in SDMX_FILES),
    *((eurostat_tsv, path, {}) for path in SDMX_FILES),  # eurostat_tsv hands SDMX-CSV on to sdmx_csv
    *((funding_csv, path, FUNDING_FILES[path]) for path in FUNDING_CSV),
]


INVALID = b"\xff"  # never in UTF-8
LATE_TSV = b"freq,geo\\TIME_PERIOD\t2023 \n" + b"A,AT\t1 \n" * 5000 + b"A," + INVALID + b"T\t1 \n"
LATE_CSV = b"name,amount\n" + "Bénéficiaire,12\n".encode() * 5000 + b"Ende" + INVALID + b",1\n"


def _outcome(parse: Callable[[], Iterable[object]]) -> list[object] | str:
    """The parser's output, or the message of the ParseError it raised."""
    try:
        return list(parse())
    except ParseError as exc:
        return f"ParseError: {exc}"


def _gzipped(path: Path, data: bytes) -> Path:
    path.write_bytes(gzip.compress(data))
    return path


def test_every_sample_and_fixture_file_is_compared() -> None:
    assert len(TSV_FILES) >= 5 and len(SDMX_FILES) >= 2 and len(FUNDING_CSV) >= 8


@pytest.mark.parametrize(("parser", "path", "options"), CASES, ids=lambda case: getattr(case, "name", None))
def test_a_file_streamed_gives_what_its_bytes_give(
    parser: Any, path: Path, options: Mapping[str, Any], tmp_path: Path
) -> None:
    data = path.read_bytes()
    expected = _outcome(lambda: parser.parse(data, options))
    assert isinstance(expected, list) and expected  # rows, rejected records and notes, in order
    assert _outcome(lambda: parser.parse_file(path, options)) == expected
    assert _outcome(lambda: parser.parse_file(_gzipped(tmp_path / "packed", data), options)) == expected
    assert _outcome(lambda: parser.parse(gzip.compress(data), options)) == expected


@pytest.mark.parametrize(
    ("parser", "data", "options", "message"),
    [
        (eurostat_tsv, LATE_TSV, {"dataset_code": "x"}, f"not UTF-8 at byte {LATE_TSV.index(INVALID)}"),
        (sdmx_csv, b"DATAFLOW,geo,TIME_PERIOD,OBS_VALUE\n" + b"D,AT,2023,1\n" * 3 + b"D,\xc3T,2023,2\n", {}, None),
        (
            funding_csv,
            LATE_CSV,
            {"columns": {"beneficiary_name": "name", "amount": "amount"}, "encoding": "utf-8"},
            f"not valid utf-8: 'utf-8' codec can't decode byte 0xff in position {LATE_CSV.index(INVALID)}: invalid",
        ),
        (
            funding_csv,
            b"\xff\xfe" + "name,amount\nA,1\n".encode("utf-16-le") + b"\x00\xdc",
            {"columns": {"beneficiary_name": "name", "amount": "amount"}},
            "byte order mark but is not UTF-16",
        ),
    ],
)
def test_bytes_that_are_not_text_are_reported_alike(
    parser: Any, data: bytes, options: Mapping[str, Any], message: str | None, tmp_path: Path
) -> None:
    """Bytes that are not in the encoding further down the file: the same error (or rejected record) both ways,
    naming the byte's position in the whole file."""
    path = tmp_path / "file"
    path.write_bytes(data)
    expected = _outcome(lambda: parser.parse(data, options))
    assert _outcome(lambda: parser.parse_file(path, options)) == expected
    if message:
        assert isinstance(expected, str) and message in expected
    else:
        assert isinstance(expected, list) and "not UTF-8" in expected[-1].reason


def _write_gzip(path: Path, header: bytes, block: bytes, blocks: int) -> int:
    """A gzip file of ``header`` and ``blocks`` copies of ``block``, never whole in memory; its decompressed size."""
    with gzip.open(path, "wb", compresslevel=1) as file:
        file.write(header)
        for _ in range(blocks):
            file.write(block)
    return len(header) + len(block) * blocks


def _peak_while(items: Iterator[object]) -> tuple[int, int]:
    """(items counted, tracemalloc peak in bytes) while ``items`` is consumed."""
    tracemalloc.start()
    try:
        count = sum(1 for _ in items)
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


LONG_CODE = b"X" * 400  # long lines: many megabytes, few rows


def test_a_large_gzip_tsv_streams_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.tsv.gz"
    block = b"".join(b"A,%s%d,AT\t1.5 b\t:\n" % (LONG_CODE, i) for i in range(1000))
    size = _write_gzip(path, b"freq,unit,geo\\TIME_PERIOD\t2023\t2024\n", block, 50)
    rows, peak = _peak_while(eurostat_tsv.parse_file(path, {"dataset_code": "big"}))
    print(f"eurostat_tsv.parse_file, gzip TSV of {size / 2**20:.1f} MiB: tracemalloc peak {peak / 2**20:.2f} MiB")
    assert rows == 50_000 and size > 16 * 2**20 and peak < 4 * 2**20


def test_a_large_gzip_sdmx_csv_streams_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.csv.gz"
    header = b"STRUCTURE,STRUCTURE_ID,ACTION,freq,unit,geo,TIME_PERIOD,OBS_VALUE,OBS_FLAG,CONF_STATUS\n"
    block = b"".join(b"dataflow,ESTAT:BIG(1.0),I,A,%s%d,AT,2024,1.5,b,\n" % (LONG_CODE, i) for i in range(1000))
    size = _write_gzip(path, header, block, 50)
    rows, peak = _peak_while(sdmx_csv.parse_file(path, {}))
    print(f"sdmx_csv.parse_file, gzip SDMX-CSV of {size / 2**20:.1f} MiB: tracemalloc peak {peak / 2**20:.2f} MiB")
    assert rows == 50_001 and size > 16 * 2**20 and peak < 4 * 2**20  # the rows and one note (the dataset code)


def test_the_cap_cuts_a_streamed_compression_bomb_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Valid lines that decompress past the cap: rows until the cap, then the cap's ParseError, in little memory."""
    monkeypatch.setenv("OBSERVATORY_MAX_DOWNLOAD_BYTES", str(8 * 2**20))
    path = tmp_path / "bomb.tsv.gz"
    line = b"A," + LONG_CODE + b",AT\t1 \n"
    _write_gzip(path, b"freq,unit,geo\\TIME_PERIOD\t2023 \n", line * 1000, 1000)  # 400 MB
    assert path.stat().st_size < 4 * 2**20
    rows = 0
    tracemalloc.start()
    try:
        with pytest.raises(ParseError, match="gzip payload decompresses to more than 8388608 bytes"):
            for _ in eurostat_tsv.parse_file(path, {"dataset_code": "x"}):
                rows += 1
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert 0 < rows <= 8 * 2**20 // len(line) and peak < 4 * 2**20


def test_a_zeros_bomb_is_cut_off_at_the_cap_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OBSERVATORY_MAX_DOWNLOAD_BYTES", str(2**20))
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    path = tmp_path / "zeros.gz"
    path.write_bytes(b"".join(packer.compress(bytes(2**20)) for _ in range(50)) + packer.flush())
    for parse in (eurostat_tsv.parse_file, funding_csv.parse_file):  # (sdmx_csv: the start is no SDMX-CSV header)
        with pytest.raises(ParseError, match="gzip payload decompresses to more than 1048576 bytes"):
            list(parse(path, {"dataset_code": "x", "columns": {"amount": "amount"}}))


@pytest.mark.parametrize(
    "packed",
    [
        gzip.compress(b"DATAFLOW,geo,TIME_PERIOD,OBS_VALUE\n" + b"D,AT,2023,1\n" * 5000)[:-6],
        b"\x1f\x8b\x08\x00" + bytes(30),
        gzip.compress(b"DATAFLOW,geo,TIME_PERIOD,OBS_VALUE\n") + b"trailing",
        gzip.compress(b"DATAFLOW,geo,TIME_PERIOD,OBS_VALUE\n") + bytes(7) + gzip.compress(b"D,AT,2023,1\n"),
    ],
    ids=["truncated", "corrupt", "trailing bytes", "padding then a member"],
)
def test_a_broken_gzip_stream_says_what_decompressing_it_whole_says(packed: bytes, tmp_path: Path) -> None:
    path = tmp_path / "broken.gz"
    path.write_bytes(packed)
    with pytest.raises(ParseError) as whole:
        decompressed(packed)
    assert _outcome(lambda: sdmx_csv.parse_file(path, {})) == f"ParseError: {whole.value}"
