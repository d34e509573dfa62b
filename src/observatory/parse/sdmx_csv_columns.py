"""The bulk path of ``sdmx_csv``: a landed file → one ``ArrayBatch``, streamed, with the rows, rejected records and
notes of ``sdmx_csv.parse_file`` for the same file.

The decompressed file is read in blocks of about ``BLOCK_BYTES`` (completed to the end of a line), so memory stays
bounded whatever the file's size. A block is read column-wise (pyarrow's CSV reader, then numpy; each distinct
text is interpreted once, in Python) when its records are plainly regular: UTF-8, one line each (LF or CRLF), quotes
only around whole fields (``,"a, b",``), the header's number of fields, a known dataset code, no ``ACTION`` ``D``,
no empty code, values empty, ``NaN`` or plain decimals (``-12``, ``1811697.0``). Any other block goes through the row
parser's own records loop, numbered from its first line; from a block whose lines are not records one to one (a
quoted line break, a doubled or stray quote, a lone CR, NUL) to the end of the file, all of it does. Either way
the rows become codes into the batch's dictionaries, which grow as the parts are read.
"""

from __future__ import annotations

import io
import math
from collections.abc import Hashable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv as pacsv

from observatory.parse import Note
from observatory.parse.arrays import ArrayBatch
from observatory.parse.compression import file_opener
from observatory.parse.sdmx_csv import (
    MISSING_VALUES,
    Layout,
    OnMessage,
    dataset_code_of,
    dataset_code_option,
    dimensions_json,
    read_layout,
    record_rows,
)

BLOCK_BYTES = 8 * 1024 * 1024
ROWS_PER_PART = 65536  # rows of the row parser's path gathered into one part
MAX_LINE_BYTES = 100_000  # a longer line goes the row parser's way (csv's field size limit is 131,072 characters)
PLAIN_NUMBER = r"^-?[0-9]+(?:\.[0-9]+)?$"  # what pyarrow's cast reads as Python's float() does
COLUMNS = ("dataset_code", "dimensions", "geo", "time_period", "value", "flags", "confidentiality")
CODED = ("dataset_code", "dimensions", "geo", "time_period", "flags", "confidentiality")


def parse_arrays_file(
    path: Path, options: Mapping[str, Any], on_message: OnMessage, block_bytes: int = BLOCK_BYTES
) -> ArrayBatch:
    """The rows of ``sdmx_csv.parse_file(path, options)`` as a batch; its rejected records and notes are passed
    to ``on_message`` in the file's order as the parts are read. The header is read now (``ParseError``)."""
    opener = file_opener(path)
    layout, notes = read_layout(opener, options)
    reader = _Reader(layout, dataset_code_option(options), on_message, block_bytes)
    return ArrayBatch(
        columns=COLUMNS,
        parts=reader.parts(opener(), notes),
        dictionaries={name: reader.coders[name].values for name in CODED},
        constants={"dataset_updated": None},
    )


class _Coder:
    """A growing dictionary: each distinct value's position in ``values`` (None: -1, NULL)."""

    def __init__(self) -> None:
        self.values: list[Any] = []
        self._codes: dict[Hashable, int] = {}

    def code(self, value: Hashable | None) -> int:
        if value is None:
            return -1
        code = self._codes.get(value)
        if code is None:
            code = self._codes[value] = len(self.values)
            self.values.append(value)
        return code

    def codes(self, values: list[Any]) -> np.ndarray:
        return np.array([self.code(value) for value in values], np.int32)


class _Irregular(Exception):
    """A block the column-wise reading does not cover: the row parser reads it."""


class _Reader:
    def __init__(self, layout: Layout, dataset_code: str | None, on_message: OnMessage, block_bytes: int) -> None:
        self.layout = layout
        self.block_bytes = block_bytes
        self.dataset_code = dataset_code
        self.on_message = on_message
        self.coders = {name: _Coder() for name in CODED}
        self.codes_of: dict[str, str | None] = {}  # structure id → dataset code, shared with the row parser
        self.names = [f"c{i}" for i in range(layout.width)]
        used = [layout.structure_id, *layout.dim_columns, layout.time, layout.value, layout.flags]
        used += [layout.confidentiality, layout.action]
        self.used = sorted({self.names[i] for i in used if i is not None}, key=self.names.index)

    def parts(self, stream: IO[bytes], notes: list[Note]) -> Iterator[list[np.ndarray]]:
        """Parts of the file's records (``stream``: the decompressed file, from its start)."""
        with stream:
            for note in notes:
                self.on_message(note)
            header = stream.readline()
            if b"\r" in header.rstrip(b"\n").removesuffix(b"\r"):  # lines end with lone CRs: not block by block
                yield from self._rows(_prefixed(b"\n" + header.partition(b"\r")[2], stream), 0)
                return
            line = 2
            while data := stream.read(self.block_bytes):
                if not data.endswith(b"\n"):
                    data += stream.readline()
                block = _one_record_a_line(data, ord(self.layout.delimiter))
                if block is None:  # from here on, records may span lines
                    yield from self._rows(_prefixed(b"\n" + data, stream), line - 2)
                    return
                try:
                    part = self._columns(block, line)
                except _Irregular:
                    yield from self._rows(io.BytesIO(b"\n" + block), line - 2)
                else:
                    if len(part[0]):
                        yield part
                line += block.count(b"\n")

    def _rows(self, stream: IO[bytes], offset: int) -> Iterator[list[np.ndarray]]:
        """The row parser's output for ``stream``, its line numbers shifted by ``offset``, as parts."""
        rows: list[tuple] = []
        for item in record_rows(stream, self.layout, self.dataset_code, self.codes_of, offset):
            if isinstance(item, tuple):
                rows.append(item)
                if len(rows) == ROWS_PER_PART:
                    yield self._part_of_rows(rows)
                    rows = []
            else:
                self.on_message(item)
        if rows:
            yield self._part_of_rows(rows)

    def _part_of_rows(self, rows: list[tuple]) -> list[np.ndarray]:
        code, dims, geo, period, value, flags, _, confidentiality = zip(*rows, strict=True)
        c = self.coders
        return [
            c["dataset_code"].codes(list(code)),
            c["dimensions"].codes(list(dims)),
            c["geo"].codes(list(geo)),
            c["time_period"].codes(list(period)),
            np.array([np.nan if number is None else number for number in value], np.float64),
            c["flags"].codes(list(flags)),
            c["confidentiality"].codes(list(confidentiality)),
        ]

    def _columns(self, block: bytes, first_line: int) -> list[np.ndarray]:
        """The part of a block of one-line records, read column-wise; ``_Irregular`` if a record is not plain."""
        layout = self.layout
        ends = np.flatnonzero(np.frombuffer(block, np.uint8) == ord("\n"))
        if np.diff(ends, prepend=-1).max() > MAX_LINE_BYTES:
            raise _Irregular
        try:
            block.decode("utf-8")
            table = pacsv.read_csv(
                pa.py_buffer(block),
                read_options=pacsv.ReadOptions(column_names=self.names, block_size=len(block) + 1),
                parse_options=pacsv.ParseOptions(
                    delimiter=layout.delimiter, newlines_in_values=False, ignore_empty_lines=False
                ),
                convert_options=pacsv.ConvertOptions(
                    include_columns=self.used,
                    column_types=dict.fromkeys(self.used, pa.string()),
                    check_utf8=False,
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
        except (UnicodeDecodeError, pa.ArrowInvalid):
            raise _Irregular from None
        if table.num_rows != ends.size:
            raise _Irregular

        def column(position: int) -> pa.Array:
            return table.column(self.names[position]).combine_chunks()

        def cells(position: int | None) -> tuple[np.ndarray, list[str]]:
            """Per row, a code into the column's distinct cells, each read as ``sdmx_csv`` reads a cell."""
            if position is None:
                return np.zeros(table.num_rows, np.int32), [""]
            encoded = pc.dictionary_encode(column(position))
            texts = [text.strip() for text in encoded.dictionary.to_pylist()]
            if position in layout.combined:
                texts = [text.partition(": ")[0].strip() for text in texts]
            return encoded.indices.to_numpy(zero_copy_only=False), texts

        def coded(name: str, position: int | None) -> np.ndarray:
            codes, texts = cells(position)
            return self.coders[name].codes([text or None for text in texts])[codes]

        dataset, known, notes = self._dataset_codes(column(layout.structure_id), first_line)
        if "D" in cells(layout.action)[1]:
            raise _Irregular
        flags, confidentiality = coded("flags", layout.flags), coded("confidentiality", layout.confidentiality)
        numbers = column(layout.value)
        missing = pc.is_in(numbers, pa.array(sorted(MISSING_VALUES))).to_numpy(zero_copy_only=False)
        keep = ~(missing & (flags < 0) & (confidentiality < 0))
        plain = pc.match_substring_regex(numbers, PLAIN_NUMBER).to_numpy(zero_copy_only=False)
        if not (plain | missing)[keep].all():
            raise _Irregular
        values = np.full(table.num_rows, np.nan)
        values[plain] = pc.cast(numbers.filter(pa.array(plain)), pa.float64()).to_numpy(zero_copy_only=False)
        if not np.isfinite(values[plain]).all():
            raise _Irregular
        dims = [cells(position) for position in layout.dim_columns]
        period, periods = cells(layout.time)
        for codes, texts in [*dims, (period, periods)]:
            if "" in texts and (np.array([not text for text in texts])[codes] & keep).any():
                raise _Irregular
        self.codes_of.update(known)
        for note in notes:
            self.on_message(note)
        geo, geos = dims[layout.geo]
        others = [
            (name, dim) for axis, (name, dim) in enumerate(zip(layout.dims, dims, strict=True)) if axis != layout.geo
        ]
        return [
            dataset[keep],
            self._combinations(others, keep),
            self.coders["geo"].codes(geos)[geo[keep]],
            self.coders["time_period"].codes(periods)[period[keep]],
            values[keep],
            flags[keep],
            confidentiality[keep],
        ]

    def _dataset_codes(self, structure: pa.Array, first_line: int) -> tuple[np.ndarray, dict[str, str], list[Note]]:
        """Per row, the dataset code's code; the structure ids seen first in this block and their notes, as the
        row parser writes them (``_Irregular`` for an id with no dataset code)."""
        coder = self.coders["dataset_code"]
        if self.dataset_code is not None:
            return np.full(len(structure), coder.code(self.dataset_code), np.int32), {}, []
        encoded = pc.dictionary_encode(structure)
        indices = encoded.indices.to_numpy(zero_copy_only=False)
        known: dict[str, str] = {}
        notes, codes = [], []
        for position, text in enumerate(encoded.dictionary.to_pylist()):  # in the order they first appear
            structure_id = text.strip()
            code = self.codes_of.get(structure_id) or known.get(structure_id)
            if code is None and structure_id not in self.codes_of and structure_id not in known:
                code = dataset_code_of(structure_id)
                if code is not None:
                    known[structure_id] = code
                    line = first_line + int(np.flatnonzero(indices == position)[0])
                    notes.append(Note(f"line {line}", f"dataset code {code} from {structure_id}"))
            if code is None:
                raise _Irregular
            codes.append(code)
        return coder.codes(codes)[indices], known, notes

    def _combinations(self, others: list[tuple[str, tuple[np.ndarray, list[str]]]], keep: np.ndarray) -> np.ndarray:
        """Per kept row, the code of its ``dimensions`` JSON (every dimension but geo), each distinct one built once."""
        columns = [codes[keep] for _, (codes, _) in others]
        sizes = [len(texts) for _, (_, texts) in others]
        if math.prod(sizes) < 2**62:
            key = np.zeros(int(keep.sum()), np.int64)
            for codes, size in zip(columns, sizes, strict=True):
                key = key * size + codes
            unique, inverse = np.unique(key, return_inverse=True)
            digits = [digit.tolist() for digit in np.unravel_index(unique, sizes)] if sizes else []
            count = unique.size
        else:
            rows, inverse = np.unique(np.stack(columns, axis=1), axis=0, return_inverse=True)
            digits, count = rows.T.tolist(), len(rows)
        texts = [
            dimensions_json({name: names[at[i]] for (name, (_, names)), at in zip(others, digits, strict=True)})
            for i in range(count)
        ]
        return self.coders["dimensions"].codes(texts)[inverse.reshape(-1)]


def _one_record_a_line(data: bytes, delimiter: int) -> bytes | None:
    """``data`` with LF line ends when each of its lines is one record, its quotes only around whole fields
    (``"`` right after a separator or the line's start, the next ``"`` right before one, on the same line)."""
    if b"\x00" in data:
        return None
    if b"\r" in data:
        if data.count(b"\r") != data.count(b"\r\n"):
            return None
        data = data.replace(b"\r\n", b"\n")
    if not data.endswith(b"\n"):
        data += b"\n"
    if b'"' not in data:
        return data
    text = np.frombuffer(data, np.uint8)
    quotes = np.flatnonzero(text == ord('"'))
    if quotes.size % 2:
        return None
    opening, closing = quotes[0::2], quotes[1::2]
    before = text[np.maximum(opening - 1, 0)]
    after = text[closing + 1]
    newline = ord("\n")
    fields = ((before == delimiter) | (before == newline) | (opening == 0)) & (
        (after == delimiter) | (after == newline)
    )
    ends = np.flatnonzero(text == newline)
    one_line = np.searchsorted(ends, opening) == np.searchsorted(ends, closing)
    return data if (fields & one_line).all() else None


class _Prefixed(io.RawIOBase):
    """``prefix``, then the rest of ``stream``."""

    def __init__(self, prefix: bytes, stream: IO[bytes]) -> None:
        self._prefix = memoryview(prefix)
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._prefix:
            data: Any = self._prefix[: len(buffer)]
            self._prefix = self._prefix[len(data) :]
        else:
            data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._stream.close()
        super().close()


def _prefixed(prefix: bytes, stream: IO[bytes]) -> IO[bytes]:
    return io.BufferedReader(_Prefixed(prefix, stream), 1024 * 1024)
