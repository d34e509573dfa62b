"""observatory.parse.eurostat_tsv against the real Eurostat TSV exports and synthetic SDMX-CSV."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from observatory.parse import ParseError, eurostat_tsv
from observatory.warehouse.raw_tables import RAW_TABLES

SAMPLES = Path(__file__).resolve().parents[2] / "sample_data/eurostat"
ERGAN = SAMPLES / "estat_lfsa_ergan_filtered.tsv"
URGAN = SAMPLES / "estat_lfsa_urgan_filtered.tsv"
RESFIRST = SAMPLES / "estat_migr_resfirst_filtered.tsv"
YEARS = {str(year) for year in range(2015, 2025)}


def _rows(payload: bytes, dataset_code: str = "lfsa_ergan") -> list[tuple]:
    return list(eurostat_tsv.parse(payload, {"dataset_code": dataset_code}))


def _keyed(rows: list[tuple]) -> dict[tuple[str, str, str, str], tuple]:
    """Rows keyed by (sex, citizen, geo, time)."""
    keyed = {}
    for row in rows:
        dims = json.loads(row[1])
        keyed[dims["sex"], dims["citizen"], row[2], row[3]] = row
    return keyed


@pytest.fixture(scope="module")
def ergan() -> list[tuple]:
    return _rows(ERGAN.read_bytes())


def test_ergan_shape(ergan: list[tuple]) -> None:
    assert eurostat_tsv.RAW_TABLE == "eurostat_observation"
    assert {len(row) for row in ergan} == {len(RAW_TABLES[eurostat_tsv.RAW_TABLE].columns)}
    # 324 rows × 10 years = 3,240 cells, less 173 bare ':' cells
    assert len(ergan) == 3067 == len(_keyed(ergan))
    assert sum(row[4] is None for row in ergan) == 290  # 258 ': u' + 32 ': bu'
    assert all(row[5] for row in ergan if row[4] is None)
    assert {row[3] for row in ergan} == YEARS  # trailing spaces of the year headers are gone
    assert len({row[2] for row in ergan}) == 36
    assert {row[0] for row in ergan} == {"lfsa_ergan"}
    assert {row[6] for row in ergan} == {None}


def test_ergan_values_and_flags(ergan: list[tuple]) -> None:
    rows = _keyed(ergan)
    assert rows["F", "EU27_2020_FOR", "AT", "2021"] == (
        "lfsa_ergan",
        '{"age":"Y20-64","citizen":"EU27_2020_FOR","freq":"A","sex":"F","unit":"PC"}',
        "AT",
        "2021",
        70.4,
        "b",
        None,
    )
    assert rows["F", "EU27_2020_FOR", "AT", "2015"][4:6] == (69.3, None)
    assert rows["F", "EU27_2020_FOR", "BA", "2021"][4:6] == (None, "bu")
    assert rows["F", "EU27_2020_FOR", "BA", "2024"][4:6] == (None, "u")  # last column: no stray CR
    assert ("F", "EU27_2020_FOR", "BA", "2015") not in rows  # ': ' without a flag
    assert Counter(row[5] for row in ergan) == {None: 2169, "u": 430, "b": 338, "bu": 58, "d": 54, "bd": 18}


def test_urgan() -> None:
    rows = _keyed(_rows(URGAN.read_bytes(), "lfsa_urgan"))
    assert len(rows) == 3067
    assert rows["F", "EU27_2020_FOR", "AT", "2015"][4:6] == (8.3, None)
    assert rows["F", "EU27_2020_FOR", "AT", "2021"][4:6] == (9.2, "b")


def test_resfirst_single_year_counts() -> None:
    rows = {(json.loads(row[1])["reason"], row[2]): row for row in _rows(RESFIRST.read_bytes(), "migr_resfirst")}
    assert len(rows) == 160
    assert {row[3] for row in rows.values()} == {"2023"}
    assert rows["EDUC", "AT"][1] == '{"citizen":"TOTAL","duration":"TOTAL","freq":"A","reason":"EDUC","unit":"PER"}'
    assert rows["EDUC", "AT"][4:6] == (6275.0, None)
    assert rows["EDUC", "ES"][4:6] == (90922.0, "b")
    assert rows["TOTAL", "IE"][4:6] == (88595.0, "u")


def test_crlf_lf_and_bom_give_the_same_rows(ergan: list[tuple]) -> None:
    crlf = ERGAN.read_bytes()
    assert b"\r\n" in crlf
    assert _rows(crlf.replace(b"\r\n", b"\n")) == ergan
    assert _rows(b"\xef\xbb\xbf" + crlf) == ergan


def test_dataset_code_is_required() -> None:
    with pytest.raises(ValueError, match="dataset_code"):
        eurostat_tsv.parse(ERGAN.read_bytes(), {})


HEADER = b"freq,unit,geo\\TIME_PERIOD\t2023 \t2024 \n"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (
            HEADER + b"A,PC,AT\t1.5 \t2 \nA,PC,BE\t3 \n",
            "line 3: expected 3 key codes and 2 cells, found 3 and 1",
        ),
        (HEADER + b"A,PC\t1.5 \t2 \n", "line 2: expected 3 key codes and 2 cells, found 2 and 2"),
        (HEADER + b"A,PC,AT\t1.5 \tabc u\n", "line 2, period 2024: 'abc' is not a number"),
        (HEADER + b"A,PC,AT\t1.5 \t\n", "line 2, period 2024: '' is not a number"),
        (HEADER + b"A,PC,AT\tnan \t1\n", "line 2, period 2023: 'nan' is not a number"),
        (b"freq,unit,geo\t2023\n", "line 1: header key 'freq,unit,geo'"),
        (b"freq,unit,country\\TIME_PERIOD\t2023\n", "lack 'geo'"),
        (b"freq,geo\\TIME_PERIOD\t2023\t2023 \n", "repeated time periods"),
        (b"", "line 1"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_malformed_tsv(payload: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        _rows(payload)


SDMX_CSV = (
    b"DATAFLOW,LAST UPDATE,freq,unit,citizen,geo,TIME_PERIOD,OBS_VALUE,OBS_FLAG\r\n"
    b"ESTAT:LFSA_ERGAN(1.0),22/09/26 23:00:00,A,PC,NAT,AT,2021,73.8,b\r\n"
    b"ESTAT:LFSA_ERGAN(1.0),22/09/26 23:00:00,A,PC,NAT,BA,2021,,bu\r\n"
    b"ESTAT:LFSA_ERGAN(1.0),22/09/26 23:00:00,A,PC,NAT,BA,2015,,\r\n"
    b"ESTAT:LFSA_ERGAN(1.0),22/09/26 23:00:00,A,PC,NAT,BE,2021,0,\r\n"
)


def test_sdmx_csv() -> None:
    dims = '{"citizen":"NAT","freq":"A","unit":"PC"}'
    assert _rows(SDMX_CSV) == [
        ("lfsa_ergan", dims, "AT", "2021", 73.8, "b", None),
        ("lfsa_ergan", dims, "BA", "2021", None, "bu", None),
        ("lfsa_ergan", dims, "BE", "2021", 0.0, None, None),
    ]


def test_sdmx_csv_malformed_line() -> None:
    with pytest.raises(ParseError, match="line 3: expected 9 fields, found 8"):
        _rows(SDMX_CSV.replace(b"BA,2021,,bu", b"BA,2021,bu"))
