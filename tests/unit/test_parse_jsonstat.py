"""observatory.parse.jsonstat against the real Eurostat migr_pop1ctz response and synthetic cubes."""

from __future__ import annotations

import gzip
import itertools
import json
import math
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from observatory.parse import ParseError, jsonstat
from observatory.warehouse.raw_tables import RAW_TABLES

PROJECT = Path(__file__).resolve().parents[2]
POP1CTZ = PROJECT / "sample_data/eurostat/eurostat_migr_pop1ctz_FR_by_citizen_jsonstat2.json"
LEGACY = PROJECT / "tests/fixtures/eurostat/eurostat_legacy_wdds_nama_gdp_c_jsonstat1.json"


def _rows(payload: bytes | dict[str, Any], **options: Any) -> list[tuple]:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return list(jsonstat.parse(raw, options))


@pytest.fixture(scope="module")
def pop1ctz() -> dict[tuple[str, str], tuple]:
    """Rows of the real file keyed by (citizen, time)."""
    return {(json.loads(row[1])["citizen"], row[3]): row for row in _rows(POP1CTZ.read_bytes())}


def test_raw_table_and_row_shape(pop1ctz: dict[tuple[str, str], tuple]) -> None:
    assert jsonstat.RAW_TABLE == "eurostat_observation"
    width = len(RAW_TABLES[jsonstat.RAW_TABLE].columns)
    assert all(len(row) == width for row in pop1ctz.values())


def test_real_file_counts(pop1ctz: dict[tuple[str, str], tuple]) -> None:
    rows = list(pop1ctz.values())
    assert len(rows) == 927  # 927 filled cells of 8,036; keys are unique
    assert all(row[4] is not None for row in rows)
    assert Counter(row[5] for row in rows) == {None: 770, "p": 103, "b": 48, "e": 6}
    assert {row[0] for row in rows} == {"migr_pop1ctz"}  # extension.id, lower-cased
    assert {row[2] for row in rows} == {"FR"}
    assert {row[6] for row in rows} == {datetime(2026, 9, 22, 21, 0, tzinfo=UTC)}


def test_real_file_anchor_values(pop1ctz: dict[tuple[str, str], tuple]) -> None:
    morocco = [pop1ctz["MA", year][4] for year in ("2015", "2016", "2017", "2018")]
    assert morocco == [458561.0, 465230.0, 472843.0, 480600.0]
    assert pop1ctz["PT", "2015"][4] == 541867.0
    assert pop1ctz["MA", "2015"][1] == '{"age":"TOTAL","citizen":"MA","freq":"A","sex":"T","unit":"NR"}'


def test_real_file_status_flags_stay_apart_from_values(pop1ctz: dict[tuple[str, str], tuple]) -> None:
    assert pop1ctz["AT", "2014"][4:6] == (4726.0, "b")
    assert pop1ctz["AT", "2023"][4:6] == (4465.0, "p")
    assert pop1ctz["EU27_2007_FOR", "2007"][4:6] == (1299028.0, "e")
    assert pop1ctz["MA", "2015"][5] is None


def test_real_file_true_zeros_are_kept(pop1ctz: dict[tuple[str, str], tuple]) -> None:
    assert pop1ctz["STLS", "2014"][4:6] == (0.0, "b")
    assert pop1ctz["STLS", "2015"][4:6] == (0.0, None)
    assert sum(row[4] == 0.0 for row in pop1ctz.values()) == 27


def test_real_file_absent_cells_are_not_emitted(pop1ctz: dict[tuple[str, str], tuple]) -> None:
    assert ("EU28", "1998") not in pop1ctz  # listed under extension.positions-with-no-data


def test_dataset_code_option_wins() -> None:
    rows = _rows(POP1CTZ.read_bytes(), dataset_code="migr_pop1ctz_fr")
    assert {row[0] for row in rows} == {"migr_pop1ctz_fr"}


def _cube(**overrides: Any) -> dict[str, Any]:
    """A 2 (sex) × 2 (geo) × 3 (time) dense cube."""
    doc = {
        "version": "2.0",
        "class": "dataset",
        "updated": "2024-03-01",
        "id": ["sex", "geo", "time"],
        "size": [2, 2, 3],
        "dimension": {
            "sex": {"category": {"index": {"M": 1, "F": 0}}},
            "geo": {"category": {"index": ["DE", "FR"]}},
            "time": {"category": {"index": ["2020", "2021", "2022 "]}},
        },
        "value": [1, 0, None, 4, None, 6, 7, 8, 9, 10, 11, 12.5],
        "status": [None, None, "c", None, None, "p", None, None, None, None, None, None],
        "extension": {"id": "DEMO", "anything": [1, {"nested": None}]},
    }
    return doc | overrides


def test_dense_cube_rows() -> None:
    rows = _rows(_cube())
    assert rows[:3] == [
        ("demo", '{"sex":"F"}', "DE", "2020", 1.0, None, datetime(2024, 3, 1, tzinfo=UTC), None),
        ("demo", '{"sex":"F"}', "DE", "2021", 0.0, None, datetime(2024, 3, 1, tzinfo=UTC), None),
        ("demo", '{"sex":"F"}', "DE", "2022", None, "c", datetime(2024, 3, 1, tzinfo=UTC), None),
    ]
    assert len(rows) == 11  # the null cell at flat index 4 has no flag: skipped
    assert rows[-1][1:6] == ('{"sex":"M"}', "FR", "2022", 12.5, None)
    assert ("demo", '{"sex":"F"}', "FR", "2022", 6.0, "p") == rows[4][:6]


def test_status_string_applies_to_every_value() -> None:
    rows = _rows(_cube(status="e"))
    assert len(rows) == 10 and {row[5] for row in rows} == {"e"}


def test_configurable_geo_and_time_dimensions() -> None:
    rows = _rows(_cube(), geo_dimension="sex", time_dimension="geo", dataset_code="x")
    assert rows[0][:4] == ("x", '{"time":"2020"}', "F", "DE")


def test_extension_is_optional_when_code_configured() -> None:
    assert len(_rows(_cube(extension=["junk"]), dataset_code="demo")) == 11


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (_cube(value=[1] * 11), "'value' has 11 entries but the sizes give 12 cells"),
        (_cube(status=["p"] * 13), "'status' has 13 entries"),
        (_cube(value={"3": 1, "12": 2}), "'value' key '12' is out of range: the sizes give 12 cells"),
        (_cube(value={"x": 1}), "'value' has a key that is not a flat index"),
        (_cube(status={"-1": "p"}), "'status' key '-1' is out of range"),
        (_cube(value=[1, "2"] + [3] * 10), "value at flat index 1 is '2', not a number"),
        (_cube(size=[2, 2, 4]), "dimension 'time' has 3 categories but size 4"),
        (_cube(id=["sex", "geo", "year"]), "dimension 'year' listed in 'id' is not described"),
        (_cube(version="1.0"), "not a JSON-stat 2.0 dataset"),
        (_cube(**{"class": "collection"}), "class='collection'"),
        (_cube(extension={}), "no dataset code"),
        (_cube(updated="yesterday"), "'updated' is 'yesterday'"),
    ],
)
def test_invalid_cubes(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(ParseError, match=re.escape(message)):
        _rows(doc)


def test_missing_geo_dimension() -> None:
    with pytest.raises(ParseError, match="no geo dimension 'nuts'"):
        _rows(_cube(), geo_dimension="nuts")


def test_legacy_jsonstat1_bundle_is_rejected() -> None:
    with pytest.raises(ParseError, match=r"not a JSON-stat 2\.0 dataset.*legacy JSON-stat 1\.x bundle.*nama_gdp_c"):
        jsonstat.parse(LEGACY.read_bytes(), {})


@pytest.mark.parametrize("payload", [b"", b"{not json", b'{"class": "dataset",}', b"[1, 2]"])
def test_invalid_json(payload: bytes) -> None:
    with pytest.raises(ParseError, match="JSON"):
        jsonstat.parse(payload, {})


@st.composite
def cubes(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any], set[tuple]]:
    """The same random cube as dense and as sparse JSON-stat 2.0, and its expected rows."""
    names = draw(st.permutations(["geo", "time", "sex", "citizen"][: draw(st.integers(2, 4))]))
    sizes = [draw(st.integers(1, 3)) for _ in names]
    codes = [
        [f"{name[0].upper()}{position}" for position in range(size)] for name, size in zip(names, sizes, strict=True)
    ]
    ncells = math.prod(sizes)
    numbers = st.one_of(st.integers(-5, 10**9), st.floats(-1e6, 1e6, allow_nan=False))
    values = draw(st.lists(st.one_of(st.none(), numbers), min_size=ncells, max_size=ncells))
    flags = draw(st.lists(st.sampled_from([None, "p", "b", "bu"]), min_size=ncells, max_size=ncells))
    expected = set()
    for index, combo in enumerate(itertools.product(*codes)):  # row-major, last dimension fastest
        if values[index] is not None or flags[index]:
            cell = dict(zip(names, combo, strict=True))
            geo, time = cell.pop("geo"), cell.pop("time")
            number = None if values[index] is None else float(values[index])
            expected.add((json.dumps(cell, sort_keys=True, separators=(",", ":")), geo, time, number, flags[index]))

    def dimension(position: int, as_object: bool) -> dict[str, Any]:
        index: Any = codes[position]
        if as_object:
            index = dict(draw(st.permutations([(code, i) for i, code in enumerate(codes[position])])))
        return {"category": {"index": index, "label": {code: code.lower() for code in codes[position]}}}

    def shuffled(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        return dict(draw(st.permutations(pairs)))

    head = {"version": "2.0", "class": "dataset", "id": names, "size": sizes, "extension": {"id": "RND"}}
    dense = head | {
        "dimension": {name: dimension(i, False) for i, name in enumerate(names)},
        "value": values,
        "status": flags,
    }
    sparse = head | {
        "dimension": shuffled([(name, dimension(i, draw(st.booleans()))) for i, name in enumerate(names)]),
        "value": shuffled([(str(i), value) for i, value in enumerate(values) if value is not None]),
        "status": shuffled([(str(i), flag) for i, flag in enumerate(flags) if flag]),
    }
    return dense, sparse, expected


@settings(max_examples=150, deadline=None)
@given(cubes())
def test_dense_and_sparse_forms_parse_to_the_same_rows(
    cube: tuple[dict[str, Any], dict[str, Any], set[tuple]],
) -> None:
    dense, sparse, expected = cube
    dense_rows, sparse_rows = _rows(dense), _rows(sparse)
    assert dense_rows == sparse_rows  # same rows, same (flat-index) order
    assert {row[1:6] for row in dense_rows} == expected
    assert len(dense_rows) == len(expected)


# --- the bulk path: parse_arrays gives the rows of parse ------------------------------------------------------


def _array_rows(payload: bytes | dict[str, Any], **options: Any) -> list[tuple]:
    """The bulk output decoded back into raw-table tuples, in its order."""
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    batch = jsonstat.parse_arrays(raw, options)
    rows = []
    for part in batch.parts:
        columns = dict(zip(batch.columns, part, strict=True))
        for i in range(len(part[0])):
            cell = {name: _decoded(batch, name, column[i]) for name, column in columns.items()}
            rows.append(
                tuple(
                    cell[name] if name in cell else batch.constants[name]
                    for name in RAW_TABLES[jsonstat.RAW_TABLE].column_names
                )
            )
    return rows


def _decoded(batch, name: str, item: Any) -> Any:
    if name in batch.dictionaries:
        return None if item < 0 else batch.dictionaries[name][item]
    return None if math.isnan(item) else float(item)


def test_bulk_path_gives_the_rows_of_parse_on_the_real_file() -> None:
    payload = POP1CTZ.read_bytes()
    assert _array_rows(payload) == _rows(payload)
    batch = jsonstat.parse_arrays(payload, {}, parts=8)
    sizes = [len(part[0]) for part in batch.parts]
    assert len(sizes) == 8 and sum(sizes) == 927 and max(sizes) - min(sizes) <= 1
    assert len(batch.dictionaries["dimensions"]) == 287 - 136  # citizenships less positions-with-no-data
    assert batch.dictionaries["flags"] == ["b", "e", "p"]


def test_bulk_path_on_the_synthetic_cube_and_its_options() -> None:
    assert _array_rows(_cube()) == _rows(_cube())
    assert _array_rows(_cube(status="e")) == _rows(_cube(status="e"))
    options = {"geo_dimension": "sex", "time_dimension": "geo", "dataset_code": "x"}
    assert _array_rows(_cube(), **options) == _rows(_cube(), **options)


def test_bulk_path_without_other_dimensions() -> None:
    cube = _cube(id=["geo", "time"], size=[2, 3], value=[1, None, 3, 4, 5, 6], status=None)
    del cube["dimension"]["sex"]
    assert [row[1] for row in _array_rows(cube)] == ["{}"] * 5
    assert _array_rows(cube) == _rows(cube)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (_cube(value=[1] * 11), "'value' has 11 entries but the sizes give 12 cells"),
        (_cube(status=["p"] * 13), "'status' has 13 entries"),
        (_cube(value={"3": 1, "12": 2}), "'value' key '12' is out of range: the sizes give 12 cells"),
        (_cube(value={"x": 1}), "'value' has a key that is not a flat index"),
        (_cube(status={"-1": "p"}), "'status' key '-1' is out of range"),
        (_cube(value=[1, "2"] + [3] * 10), "value at flat index 1 is '2', not a number"),
        (_cube(value={"7": True, "2": "x"}), "value at flat index 2 is 'x', not a number"),
        (_cube(status={"5": 1}), "status at flat index 5 is 1, not a string"),
        (_cube(value=None), "'value' must be an array or an object, not NoneType"),
        (_cube(size=[2, 2, 4]), "dimension 'time' has 3 categories but size 4"),
        (_cube(extension={}), "no dataset code"),
    ],
)
def test_bulk_path_rejects_what_parse_rejects(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(ParseError, match=re.escape(message)):
        _rows(doc)
    with pytest.raises(ParseError, match=re.escape(message)):
        jsonstat.parse_arrays(json.dumps(doc).encode(), {})


def test_dataset_updated_stamp() -> None:
    assert jsonstat.dataset_updated(POP1CTZ.read_bytes()) == datetime(2026, 9, 22, 21, 0, tzinfo=UTC)
    assert jsonstat.dataset_updated(json.dumps(_cube(updated=None)).encode()) is None


@settings(max_examples=150, deadline=None)
@given(cubes())
def test_bulk_path_agrees_with_parse_on_dense_and_sparse_cubes(
    cube: tuple[dict[str, Any], dict[str, Any], set[tuple]],
) -> None:
    dense, sparse, _ = cube
    assert _array_rows(dense) == _array_rows(sparse) == _rows(dense)


# --- JSON-stat 2.0 from other publishers, gzip --------------------------------------------------------------


def _both(doc: dict[str, Any], **options: Any) -> list[tuple]:
    """The rows of ``parse``, checked equal to those of the bulk path."""
    rows = _rows(doc, **options)
    assert _array_rows(doc, **options) == rows
    return rows


def test_one_element_status_array_applies_to_every_cell() -> None:
    rows = _both(_cube(status=["e"]))
    assert rows == _rows(_cube(status="e"))
    assert len(rows) == 10 and {row[5] for row in rows} == {"e"}
    assert len(_both(_cube(status=[None]))) == 10  # no flag at all: the two null cells are skipped
    single = _cube(id=["geo", "time"], size=[1, 1], value=[None], status=["c"])
    single["dimension"] = {"geo": {"category": {"index": ["DE"]}}, "time": {"category": {"index": ["2020"]}}}
    assert [row[2:6] for row in _both(single)] == [("DE", "2020", None, "c")]  # one cell: its own flag
    with pytest.raises(ParseError, match="status at flat index 0 is 3, not a string"):
        _rows(_cube(status=[3]))


def test_sizes_given_as_strings() -> None:
    assert _both(_cube(size=["2", "2", "3"])) == _rows(_cube())
    for bad in (["2", "2", "three"], ["2", "2", "-3"], ["2", "2", "3.0"], ["2", "2", ""]):
        with pytest.raises(ParseError, match="size of dimension 'time' is"):
            _rows(_cube(size=bad))


def _no_geo_cube() -> dict[str, Any]:
    """A Statistics Norway-style cube: no geo dimension, time called ``Tid`` and found by ``role``."""
    return {
        "version": "2.0",
        "class": "dataset",
        "label": "Immigrants by reason for immigration",
        "id": ["Grunn", "ContentsCode", "Tid"],
        "size": ["2", "1", "3"],
        "role": {"time": ["Tid"], "metric": ["ContentsCode"]},
        "dimension": {
            "Grunn": {"category": {"index": {"ARB": 0, "FAMI": 1}}},
            "ContentsCode": {"category": {"index": {"Innvandringer": 0}}},
            "Tid": {"category": {"index": {"2021": 0, "2022": 1, "2023": 2}}},
        },
        "value": [15800, 21600, None, 11000, 12100, 13400],
        "status": ["p"],
    }


def test_cube_without_geo_dimension_loads_with_a_constant_geo() -> None:
    rows = _both(_no_geo_cube(), geo="NO", dataset_code="ssb_07113")
    assert rows[0] == (
        "ssb_07113",
        '{"ContentsCode":"Innvandringer","Grunn":"ARB"}',
        "NO",
        "2021",
        15800.0,
        "p",
        None,
        None,
    )
    assert len(rows) == 5 and {row[2] for row in rows} == {"NO"}
    assert [row[3] for row in rows] == ["2021", "2022", "2021", "2022", "2023"]


def test_cube_without_geo_dimension_needs_the_geo_option() -> None:
    message = "no geo dimension 'geo' among ['Grunn', 'ContentsCode', 'Tid']: set the geo_dimension option, or the geo"
    with pytest.raises(ParseError, match=re.escape(message)):
        _rows(_no_geo_cube(), dataset_code="x")
    with pytest.raises(ParseError, match=re.escape(message)):
        jsonstat.parse_arrays(json.dumps(_no_geo_cube()).encode(), {"dataset_code": "x"})
    with pytest.raises(ParseError, match="quote the code"):  # YAML reads `geo: NO` as false
        _rows(_no_geo_cube(), dataset_code="x", geo=False)
    with pytest.raises(ParseError, match="the geo option is ''"):
        _rows(_no_geo_cube(), dataset_code="x", geo="")
    with pytest.raises(ParseError, match="constant geo 'NO', but the cube has a geo dimension 'geo'"):
        _rows(_cube(), geo="NO")


def test_geo_and_time_dimensions_found_by_role() -> None:
    cube = _no_geo_cube()
    cube["id"][1] = "Region"
    cube["dimension"]["Region"] = cube["dimension"].pop("ContentsCode")
    cube["role"]["geo"] = ["Region"]
    rows = _both(cube, dataset_code="x")
    assert rows[0][1:4] == ('{"Grunn":"ARB"}', "Innvandringer", "2021")
    cube["role"] = {"time": ["Tid", "Grunn"]}
    with pytest.raises(ParseError, match="no time dimension 'time'"):
        _rows(cube, dataset_code="x", geo="NO")


def test_city_cube_reads_cities_as_geo() -> None:
    cube = _cube(id=["sex", "cities", "time"])
    cube["dimension"]["cities"] = cube["dimension"].pop("geo")
    assert [row[2] for row in _both(cube)][:4] == ["DE", "DE", "DE", "FR"]


def test_gzip_payload() -> None:
    payload = POP1CTZ.read_bytes()
    packed = gzip.compress(payload)
    assert _rows(packed) == _rows(payload)
    assert _array_rows(packed) == _rows(payload)
    assert jsonstat.dataset_updated(packed) == datetime(2026, 9, 22, 21, 0, tzinfo=UTC)
    with pytest.raises(ParseError, match="gzip payload is truncated"):
        jsonstat.parse(packed[:-100], {})


def test_confidentiality_is_null(pop1ctz: dict[tuple[str, str], tuple]) -> None:
    assert {row[7] for row in pop1ctz.values()} == {None}
    assert jsonstat.parse_arrays(POP1CTZ.read_bytes(), {}).constants["confidentiality"] is None
