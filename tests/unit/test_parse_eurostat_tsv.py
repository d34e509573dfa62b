"""observatory.parse.eurostat_tsv against the real Eurostat TSV exports and synthetic SDMX-CSV."""

from __future__ import annotations

import gzip
import json
import zlib
from collections import Counter
from pathlib import Path

import pytest

from observatory.parse import Note, ParseError, Rejected, eurostat_tsv, sdmx_csv
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
        ("lfsa_ergan", dims, "AT", "2021", 73.8, "b", None, None),
        ("lfsa_ergan", dims, "BA", "2021", None, "bu", None, None),
        ("lfsa_ergan", dims, "BE", "2021", 0.0, None, None, None),
    ]


def test_sdmx_csv_malformed_line() -> None:  # one bad record is rejected, the others still load
    rows = _rows(SDMX_CSV.replace(b"BA,2021,,bu", b"BA,2021,bu"))
    assert rows[1] == Rejected(
        "line 3", "expected 9 fields, found 8", "ESTAT:LFSA_ERGAN(1.0),22/09/26 23:00:00,A,PC,NAT,BA,2021,bu"
    )
    assert [row[2] for row in rows if isinstance(row, tuple)] == ["AT", "BE"]


# --- edat_lfs_9912 (real, tests/fixtures), gzip, SDMX-CSV handed to sdmx_csv, city datasets ----------------------

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures/eurostat"
EDAT = FIXTURES / "estat_edat_lfs_9912_filtered1.tsv"
CITIES_SDMX = FIXTURES / "estat_urb_cpopcb_sdmxcsv2_labels.csv"


@pytest.fixture(scope="module")
def edat() -> list[tuple]:
    return _rows(EDAT.read_bytes(), "edat_lfs_9912")


def _edat_key(row: tuple) -> tuple[str, ...]:
    dims = json.loads(row[1])
    return dims["sex"], dims["isced11"], dims["c_birth"], dims["age"], row[2], row[3]


def test_edat_lfs_9912_counts(edat: list[tuple]) -> None:
    lines = EDAT.read_text(encoding="utf-8").splitlines()[1:]
    cells = [cell.strip() for line in lines for cell in line.split("\t")[1:]]
    values = sum(1 for cell in cells if not cell.startswith(":"))
    flagged_missing = sum(1 for cell in cells if cell.startswith(":") and cell != ":")
    assert (len(lines), values, flagged_missing) == (5994, 48688, 7700)  # SOURCES.md's 56,388 non-missing cells
    assert len(edat) == values + flagged_missing == len({_edat_key(row) for row in edat})
    assert sum(row[4] is None for row in edat) == flagged_missing
    assert {row[0] for row in edat} == {"edat_lfs_9912"}
    assert {row[3] for row in edat} == YEARS
    assert {json.loads(row[1])["isced11"] for row in edat} == {"ED0-2", "ED3_4", "ED5-8"}
    assert set(Counter(row[5] for row in edat)) == {None, "b", "u", "bu"}
    assert {row[6:] for row in edat} == {(None, None)}  # no dataset_updated, no confidentiality in TSV


def test_edat_lfs_9912_values(edat: list[tuple]) -> None:
    rows = {_edat_key(row): row for row in edat}
    at = ("F", "ED0-2", "EU27_2020_FOR", "Y15-24", "AT")
    assert rows[*at, "2015"] == (
        "edat_lfs_9912",
        '{"age":"Y15-24","c_birth":"EU27_2020_FOR","freq":"A","isced11":"ED0-2","sex":"F","unit":"PC"}',
        "AT",
        "2015",
        34.4,
        None,
        None,
        None,
    )
    assert rows[*at, "2021"][4:6] == (43.3, "b")
    ba = ("F", "ED0-2", "EU27_2020_FOR", "Y15-24", "BA")
    assert rows[*ba, "2021"][4:6] == (38.4, "u")
    assert rows[*ba, "2022"][4:6] == (None, "u")
    assert (*ba, "2015") not in rows  # ': ' without a flag
    assert rows["F", "ED0-2", "EU27_2020_FOR", "Y15-24", "BG", "2019"][4:6] == (None, "bu")
    fr = ("T", "ED5-8", "NEU27_2020_FOR", "Y25-64", "FR")
    assert [rows[*fr, str(year)][4] for year in range(2015, 2025)] == [
        *(30.7, 30.1, 31.0, 32.1, 32.8, 35.4, 35.1, 36.5, 36.8, 37.9)
    ]
    assert rows[*fr, "2021"][5] == "b"
    assert ("T", "ED5-8", "NEU27_2020_FOR", "Y25-64", "DE", "2015") not in rows


def test_gzip_payload_gives_the_same_rows(edat: list[tuple]) -> None:
    assert _rows(gzip.compress(EDAT.read_bytes()), "edat_lfs_9912") == edat


def test_gzip_bomb_is_cut_off_at_the_download_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    bomb = b"".join(packer.compress(bytes(1024 * 1024)) for _ in range(200)) + packer.flush()  # 200 MiB of zeros
    monkeypatch.setenv("OBSERVATORY_MAX_DOWNLOAD_BYTES", str(1024 * 1024))
    with pytest.raises(ParseError, match="gzip payload decompresses to more than 1048576 bytes"):
        eurostat_tsv.parse(bomb, {"dataset_code": "x"})


def test_sdmx_csv_2_is_read_by_sdmx_csv() -> None:
    payload = CITIES_SDMX.read_bytes()
    rows = _rows(payload)
    assert rows == [row for row in sdmx_csv.parse(payload, {"dataset_code": "lfsa_ergan"})]
    assert len([row for row in rows if isinstance(row, tuple)]) == 4245
    assert {row[0] for row in eurostat_tsv.parse(payload, {}) if isinstance(row, tuple)} == {"urb_cpopcb"}


def test_city_dataset_tsv_reads_cities_as_geo() -> None:
    payload = b"freq,indic_ur,cities\\TIME_PERIOD\t2020 \t2021 \nA,DE2009V,DE004C\t277600 e\t16000 e\n"
    parsed = list(eurostat_tsv.parse(payload, {"dataset_code": "urb_cpopcb"}))
    assert parsed == [
        Note("dimension cities", "read as the geo dimension (no 'geo')"),
        ("urb_cpopcb", '{"freq":"A","indic_ur":"DE2009V"}', "DE004C", "2020", 277600.0, "e", None, None),
        ("urb_cpopcb", '{"freq":"A","indic_ur":"DE2009V"}', "DE004C", "2021", 16000.0, "e", None, None),
    ]
