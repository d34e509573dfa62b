"""observatory.parse.sdmx_csv on Eurostat's real SDMX-CSV 2.0 city file (with labels), on variants of it generated
here (without labels, SDMX-CSV 1.0, standard ``ID: Name`` labels, semicolons, gzip) and on small synthetic files."""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from collections import Counter
from pathlib import Path

import pytest

from observatory.parse import FORMATS, Note, ParseError, Rejected, parser_for, sdmx_csv
from observatory.parse.compression import decompressed
from observatory.warehouse.raw_tables import RAW_TABLES

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures/eurostat"
CITIES = FIXTURES / "estat_urb_cpopcb_sdmxcsv2_labels.csv"
DIMS = '{"freq":"A","indic_ur":"DE2009V"}'


def _parsed(payload: bytes, **options: object) -> list[tuple | Rejected | Note]:
    return list(sdmx_csv.parse(payload, options))


def _tuples(payload: bytes, **options: object) -> list[tuple]:
    return [row for row in _parsed(payload, **options) if isinstance(row, tuple)]


def _records(payload: bytes) -> list[list[str]]:
    """The real file's records (header first) as the csv module reads them: the test's independent reading."""
    return list(csv.reader(io.StringIO(payload.decode("utf-8"), newline="")))


def _written(records: list[list[str]], delimiter: str = ",", lineterminator: str = "\r\n") -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter, lineterminator=lineterminator).writerows(records)
    return out.getvalue().encode()


def _without_labels(records: list[list[str]]) -> list[list[str]]:
    """SDMX-CSV 2.0 as exported without labels: no STRUCTURE_NAME, no label column after each code column."""
    header = records[0]
    labels = {header.index("STRUCTURE_NAME")} | set(range(4, len(header), 2))
    return [[field for i, field in enumerate(record) if i not in labels] for record in records]


def _version_1(records: list[list[str]]) -> list[list[str]]:
    """The same observations as SDMX-CSV 1.0 (``DATAFLOW,LAST UPDATE,...``, no CONF_STATUS), like Eurostat's."""
    plain = _without_labels(records)
    header = plain[0]
    keep = [header.index(name) for name in ("freq", "indic_ur", "cities", "TIME_PERIOD", "OBS_VALUE", "OBS_FLAG")]
    rows = [[record[1], "05/11/24 23:00:00", *(record[i] for i in keep)] for record in plain[1:]]
    return [["DATAFLOW", "LAST UPDATE", *(header[i] for i in keep)], *rows]


def _combined_labels(records: list[list[str]]) -> list[list[str]]:
    """The SDMX-CSV standard's ``labels=both``: ``ID: Name`` headers and ``code: label`` cells, no label columns."""
    header = records[0]
    pairs = list(range(3, len(header), 2))  # each code column, its label in the next
    out = [[*header[:2], *(f"{header[i]}: {header[i + 1]}" for i in pairs)]]
    for record in records[1:]:
        cells = [f"{record[i]}: {record[i + 1]}" if record[i] and record[i + 1] else record[i] for i in pairs]
        out.append([*record[:2], *cells])
    return out


@pytest.fixture(scope="module")
def payload() -> bytes:
    return CITIES.read_bytes()


@pytest.fixture(scope="module")
def parsed(payload: bytes) -> list[tuple | Rejected | Note]:
    return _parsed(payload)


@pytest.fixture(scope="module")
def rows(parsed: list[tuple | Rejected | Note]) -> list[tuple]:
    return [row for row in parsed if isinstance(row, tuple)]


def _keyed(rows: list[tuple]) -> dict[tuple[str, str], tuple]:
    return {(row[2], row[3]): row for row in rows}


def test_registered_format() -> None:
    assert FORMATS["sdmx_csv"] == sdmx_csv.RAW_TABLE == "eurostat_observation"
    assert parser_for("sdmx_csv") is sdmx_csv


def test_city_file_loads_every_observation(payload: bytes, parsed: list, rows: list[tuple]) -> None:
    header, *records = _records(payload)
    field = {name: header.index(name) for name in ("OBS_VALUE", "OBS_FLAG", "CONF_STATUS")}
    expected = [r for r in records if r[field["OBS_VALUE"]] or r[field["OBS_FLAG"]]]
    assert not [r for r in records if not (r[field["OBS_VALUE"]] or r[field["OBS_FLAG"]]) and r[field["CONF_STATUS"]]]
    assert len(rows) == len(expected) == len(records) == 4245
    assert not [row for row in parsed if isinstance(row, Rejected)]
    assert {len(row) for row in rows} == {len(RAW_TABLES["eurostat_observation"].columns)}
    assert len(_keyed(rows)) == len(rows)  # (geo, time) is unique: one indicator
    assert {row[0] for row in rows} == {"urb_cpopcb"}  # from STRUCTURE_ID ESTAT:URB_CPOPCB(1.0)
    assert {row[1] for row in rows} == {DIMS}  # label columns and `cities` are not dimensions
    assert len({row[2] for row in rows}) == 705
    assert {row[3] for row in rows} == {str(year) for year in range(2015, 2025)}


def test_city_file_notes(parsed: list) -> None:
    notes = [row for row in parsed if isinstance(row, Note)]
    assert Note("column cities", "read as the geo dimension (the file has no 'geo' column)") in notes
    assert Note("line 2", "dataset code urb_cpopcb from ESTAT:URB_CPOPCB(1.0)") in notes
    labels = next(note for note in notes if note.where == "columns")
    assert labels.note.startswith("7 label columns not loaded: Time frequency, Urban audit indicator,")


def test_city_codes_values_and_flags(rows: list[tuple]) -> None:
    cells = _keyed(rows)
    assert cells["BE001C", "2015"] == ("urb_cpopcb", DIMS, "BE001C", "2015", 538100.0, None, None, None)
    assert cells["BE001C", "2024"][4:6] == (620939.0, None)
    assert cells["BE", "2015"][4:6] == (1811697.0, None)  # a country row among the cities
    assert cells["ES001C", "2021"][4:6] == (1100043.0, None)
    assert cells["FR001C", "2020"][4:6] == (2587759.0, None)
    assert cells["EE001C", "2016"][4:6] == (85829.0, "b")
    assert cells["DE002C", "2020"][4:6] == (473200.0, "e")
    # the real quirk: Köln 277,600 in 2020, 16,000 in 2021, flagged e only; kept as published
    assert cells["DE004C", "2020"][4:6] == (277600.0, "e")
    assert cells["DE004C", "2021"][4:6] == (16000.0, "e")
    assert ("DE001C", "2020") not in cells  # Berlin is absent from this export
    assert Counter(row[5] for row in rows) == {None: 3411, "e": 503, "b": 331}
    assert {row[7] for row in rows} == {None}  # CONF_STATUS is empty in every record of this file
    assert all(row[4] is not None for row in rows)


VARIANTS = [  # the real file's records → the bytes of a variant (also read by test_sdmx_csv_bulk)
    pytest.param(lambda r: _written(_without_labels(r), lineterminator="\n"), id="2.0-without-labels-lf"),
    pytest.param(lambda r: _written(_version_1(r)), id="1.0"),
    pytest.param(lambda r: _written(_combined_labels(r)), id="2.0-standard-id-name-labels"),
    pytest.param(lambda r: _written(r, delimiter=";"), id="semicolons"),
    pytest.param(lambda r: b"\xef\xbb\xbf" + _written(r, lineterminator="\n"), id="bom-lf"),
    pytest.param(lambda r: gzip.compress(_written(r)), id="gzip"),
]


@pytest.mark.parametrize("variant", VARIANTS)
def test_variants_give_the_same_rows(payload: bytes, rows: list[tuple], variant) -> None:
    generated = variant(_records(payload))
    assert generated != payload
    assert _tuples(generated) == rows


def test_variants_are_what_they_claim(payload: bytes) -> None:
    records = _records(payload)
    assert _written(records) == payload  # the generator rewrites the real file byte for byte
    assert _without_labels(records)[0] == [
        *("STRUCTURE", "STRUCTURE_ID", "freq", "indic_ur", "cities"),
        *("TIME_PERIOD", "OBS_VALUE", "OBS_FLAG", "CONF_STATUS"),
    ]
    assert _version_1(records)[0][:2] == ["DATAFLOW", "LAST UPDATE"]
    assert _combined_labels(records)[1][4] == "BE: Belgium"


def test_gzip_payload(payload: bytes, rows: list[tuple]) -> None:
    packed = gzip.compress(payload)
    assert packed[:2] == b"\x1f\x8b" and len(packed) < len(payload) / 5
    assert _tuples(packed) == rows
    assert _tuples(gzip.compress(payload[:300_000]) + gzip.compress(payload[300_000:])) == rows  # two members


def _zeros_bomb(megabytes: int) -> bytes:
    """``megabytes`` MiB of zeros, gzip-compressed a MiB at a time (never held decompressed)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1024 * 1024)
    return b"".join(packer.compress(zeros) for _ in range(megabytes)) + packer.flush()


@pytest.fixture(scope="module")
def bomb() -> bytes:
    packed = _zeros_bomb(200)
    assert len(packed) < 1024 * 1024
    return packed


def test_gzip_bomb_is_cut_off_at_the_cap(bomb: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ParseError, match="gzip payload decompresses to more than 10485760 bytes"):
        decompressed(bomb, limit=10 * 1024 * 1024)
    monkeypatch.setenv("OBSERVATORY_MAX_DOWNLOAD_BYTES", str(4 * 1024 * 1024))  # the download cap is the default
    with pytest.raises(ParseError, match="more than 4194304 bytes"):
        sdmx_csv.parse(bomb, {})


@pytest.mark.parametrize(
    ("packed", "message"),
    [
        (gzip.compress(b"STRUCTURE,STRUCTURE_ID\n")[:-6], "gzip payload is truncated"),
        (b"\x1f\x8b\x08\x00" + bytes(30), "gzip payload is corrupt"),
        (gzip.compress(b"a") + b"trailing", "8 bytes after the end of the stream are not gzip"),
    ],
)
def test_broken_gzip(packed: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        sdmx_csv.parse(packed, {})


def test_not_gzip_is_returned_as_is() -> None:
    assert decompressed(b"DATAFLOW,x") == b"DATAFLOW,x"
    assert decompressed(gzip.compress(b"")) == b""


# --- small synthetic files: every decision of the parser ----------------------------------------------------

V2 = "STRUCTURE,STRUCTURE_ID,ACTION,freq,unit,geo,TIME_PERIOD,OBS_VALUE,OBS_FLAG,CONF_STATUS,OBS_COMMENT\n"


def _v2(*records: str) -> bytes:
    return (V2 + "".join(f"dataflow,ESTAT:LFSA_ERGAN(1.0),I,A,PC,{record}\n" for record in records)).encode()


def test_confidentiality_flags_and_missing_values() -> None:
    parsed = _parsed(_v2("AT,2021,73.8,b,F,", "AT,2022,,,C,", "AT,2023,NaN,p,,", "AT,2024,,,,x", "BE,2021,0,,,note"))
    rows = [row for row in parsed if isinstance(row, tuple)]
    dims = '{"freq":"A","unit":"PC"}'
    assert rows == [
        ("lfsa_ergan", dims, "AT", "2021", 73.8, "b", None, "F"),
        ("lfsa_ergan", dims, "AT", "2022", None, None, None, "C"),  # confidential: kept, value NULL
        ("lfsa_ergan", dims, "AT", "2023", None, "p", None, None),  # SDMX's NaN is a missing value
        ("lfsa_ergan", dims, "BE", "2021", 0.0, None, None, None),  # a true zero; AT 2024 (nothing) skipped
    ]
    assert Note("columns", "not loaded: OBS_COMMENT") in parsed


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ("AT,2021,1.5.0,,,", "OBS_VALUE '1.5.0' is not a number"),
        ("AT,2021,1 000,,,", "OBS_VALUE '1 000' is not a number"),
        ("AT,2021,1e999,,,", "OBS_VALUE '1e999' is not a number"),
        ("AT,2021,inf,,,", "OBS_VALUE 'inf' is not a number"),
        ("AT,2021,1,,", "expected 11 fields, found 10"),
        ("AT,2021,1,,,,,", "expected 11 fields, found 13"),
        (",2021,1,,,", "empty code for geo"),
        ("AT,,1,,,", "empty code for TIME_PERIOD"),
    ],
)
def test_a_bad_record_is_rejected_and_the_rest_loads(record: str, reason: str) -> None:
    parsed = _parsed(_v2("AT,2020,1,,,", record, "AT,2022,3,,,"))
    rejected = [row for row in parsed if isinstance(row, Rejected)]
    assert rejected == [Rejected("line 3", reason, f"dataflow,ESTAT:LFSA_ERGAN(1.0),I,A,PC,{record}")]
    assert [row[3] for row in parsed if isinstance(row, tuple)] == ["2020", "2022"]


def test_bytes_that_are_not_utf8_reject_their_record_only() -> None:
    payload = _v2("AT,2020,1,,,", "AT,2021,2,,,", "AT,2022,3,,,").replace(b"I,A,PC,AT,2021", b"I,A,P\xe9,AT,2021")
    parsed = _parsed(payload)
    [rejected] = [row for row in parsed if isinstance(row, Rejected)]
    assert rejected.where == "line 3" and rejected.reason.startswith("not UTF-8")
    assert "P\ufffd" in rejected.raw
    assert [row[3] for row in parsed if isinstance(row, tuple)] == ["2020", "2022"]


def test_unclosed_quote_and_multiline_records() -> None:
    broken = _v2("AT,2020,1,,,", '"AT,2021,2,,,', "AT,2022,3,,,")  # the quote runs to the end of the file
    parsed = _parsed(broken)
    assert [row[3] for row in parsed if isinstance(row, tuple)] == ["2020"]
    [rejected] = [row for row in parsed if isinstance(row, Rejected)]
    assert (rejected.where, rejected.reason) == ("line 3", "expected 11 fields, found 6")
    assert rejected.raw.endswith("\ndataflow,ESTAT:LFSA_ERGAN(1.0),I,A,PC,AT,2022,3,,,")  # both lines it took
    quoted = _v2("AT,2020,1,,,", 'AT,2021,2,,,"two\nlines"', "AT,2022,3,,,")  # a quoted newline is one record
    parsed = _parsed(quoted)
    assert [row[3] for row in parsed if isinstance(row, tuple)] == ["2020", "2021", "2022"]
    assert not [row for row in parsed if isinstance(row, Rejected)]
    assert _parsed(_v2('AT,2020,1,,,"open'))[-1][3] == "2020"  # an unclosed quote in the last, ignored column


def test_delete_actions_are_not_loaded() -> None:
    payload = _v2("AT,2020,1,,,").replace(b",I,", b",D,")
    assert _parsed(payload)[-1] == Note("line 2", "ACTION D (delete): not loaded")
    assert _tuples(payload) == []


def test_dataset_code_and_geo_options() -> None:
    payload = _v2("AT,2021,73.8,,,")
    assert _tuples(payload, dataset_code="mine")[0][0] == "mine"
    [row] = _tuples(payload, geo_dimension="unit")
    assert row[1:3] == ('{"freq":"A","geo":"AT"}', "PC")
    with pytest.raises(ParseError, match="no geo dimension 'nuts'"):
        sdmx_csv.parse(payload, {"geo_dimension": "nuts"})


def test_an_unreadable_structure_id_rejects_its_record() -> None:
    payload = _v2("AT,2021,1,,,").replace(b"ESTAT:LFSA_ERGAN(1.0)", b"not a (code")
    [rejected] = [row for row in _parsed(payload) if isinstance(row, Rejected)]
    assert "no dataset code in 'not a (code'" in rejected.reason
    assert _tuples(payload, dataset_code="x")[0][0] == "x"


def test_other_publishers_ref_area_and_obs_status() -> None:
    payload = (
        b"DATAFLOW,FREQ,REF_AREA,TIME_PERIOD,OBS_VALUE,OBS_STATUS\n"
        b"ECB:EXR(1.0),A,DE,2020,1.5,A\n"
        b"ECB:EXR(1.0),A,FR,2020,,M\n"
    )
    assert _tuples(payload) == [
        ("exr", '{"FREQ":"A"}', "DE", "2020", 1.5, "A", None, None),
        ("exr", '{"FREQ":"A"}', "FR", "2020", None, "M", None, None),
    ]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "line 1: header does not start with DATAFLOW or STRUCTURE"),
        (b"freq,unit,geo\\TIME_PERIOD\t2023 \n", "looks like a Eurostat TSV file"),
        (b'{"class": "dataset"}', "looks like JSON"),
        (b"STRUCTURE,freq,geo,TIME_PERIOD,OBS_VALUE\n", "STRUCTURE is not followed by STRUCTURE_ID"),
        (b"DATAFLOW,freq,geo,TIME_PERIOD,OBS_FLAG\n", "header has no OBS_VALUE column"),
        (b"DATAFLOW,freq,geo,OBS_VALUE,OBS_FLAG\n", "header has no TIME_PERIOD column"),
        (b"DATAFLOW,freq,geo,TIME_PERIOD,OBS_VALUE,OBS_VALUE\n", "header has 2 OBS_VALUE column"),
        (b"DATAFLOW,freq,freq,geo,TIME_PERIOD,OBS_VALUE\n", "dimension columns .* repeat"),
        (b"DATAFLOW,freq,country,TIME_PERIOD,OBS_VALUE\n", "no geo dimension 'geo / cities / GEO / REF_AREA'"),
        (b"DATAFLOW,fr\xe9q,geo,TIME_PERIOD,OBS_VALUE\n", "line 1: header is not UTF-8"),
        (b'DATAFLOW,"freq\n,geo,TIME_PERIOD,OBS_VALUE\n', "header spans 2 lines"),
    ],
)
def test_files_that_cannot_be_read_at_all(payload: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        sdmx_csv.parse(payload, {})


def test_label_columns_found_without_structure_name() -> None:
    """A 1.0 file with Eurostat-style label columns: found by their headers, which cannot be SDMX ids."""
    payload = (
        b"DATAFLOW,LAST UPDATE,freq,Time frequency,geo,Geopolitical entity (reporting),TIME_PERIOD,Time,"
        b"OBS_VALUE,Observation value,OBS_FLAG,Observation status (Flag)\n"
        b'ESTAT:LFSA_ERGAN(1.0),05/11/24 23:00:00,A,Annual,BE,"Belgium, Kingdom",2021,,70.1,,b,break\n'
    )
    assert _tuples(payload) == [("lfsa_ergan", '{"freq":"A"}', "BE", "2021", 70.1, "b", None, None)]


def test_dimension_json_matches_the_other_eurostat_parsers(rows: list[tuple]) -> None:
    assert json.loads(rows[0][1]) == {"freq": "A", "indic_ur": "DE2009V"}
