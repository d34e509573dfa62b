"""JSON-stat 2.0 datasets (Eurostat Statistics API responses) → ``eurostat_observation`` rows.

Cells are addressed by their row-major flat index over ``id``/``size`` (last dimension fastest).
A cell is emitted when it has a value (zeros included) or, when its value is null or absent,
when it carries its own status flag; other cells are skipped. Sparse ``value``/``status``
objects are emitted in flat-index order, like dense arrays.

Two outputs of the same rows: ``parse`` yields tuples, one cell at a time (the reference);
``parse_arrays`` is the bulk path (``observatory.parse.arrays.ArrayBatch``): every cell at once in numpy arrays,
with geo, time, flags and the other dimensions' JSON as codes into small dictionaries, so that the server
parses each distinct JSON once rather than once per row.

Other publishers' JSON-stat 2.0 is read too: a one-element ``status`` array applies to every cell (like a
``status`` string), ``size`` may be given as strings of digits, and the geo and time dimensions are found by
``role`` when they are not called ``geo`` and ``time``. A cube without a geographic dimension loads when the
options name a constant geo code (``geo``), which then goes in every row's ``geo``. A gzip payload is
decompressed first (``observatory.parse.compression``).

Options: ``dataset_code`` (default: ``extension.id`` lower-cased, e.g. ``migr_pop1ctz``; the
``label`` is a title, not a code, so it is never used), ``geo_dimension`` (default ``geo``, else the one
dimension of ``role.geo``, else ``cities``), ``time_dimension`` (default ``time``, else the one dimension of
``role.time``), ``geo`` (a constant geo code for a cube without a geo dimension; an error if it has one).
``confidentiality`` is always None (JSON-stat has no such attribute).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson

from observatory.parse import ParseError
from observatory.parse.arrays import ArrayBatch
from observatory.parse.compression import decompressed
from observatory.parse.json_depth import json_depth_problem
from observatory.parse.sdmx_csv import GEO_CANDIDATES

RAW_TABLE = "eurostat_observation"

Flags = tuple[dict[int, str], str | None]  # (explicit flag per flat index, flag for every cell)


@dataclass(frozen=True)
class _Cube:
    """Everything about a dataset but its cells: shape, category codes, roles and per-batch constants."""

    ids: list[str]
    sizes: list[int]
    codes: list[list[str]]
    geo: str | None  # the geo dimension; None when every row has the constant ``geo_code``
    geo_code: str | None
    time: str
    dataset_code: str
    updated: datetime | None

    @property
    def ncells(self) -> int:
        return math.prod(self.sizes)


def parse(payload: bytes, options: Mapping[str, Any]) -> Iterator[tuple]:
    """Validate the cube eagerly, then return a generator of raw-table rows."""
    doc = _load(payload)
    cube = _cube(doc, options)
    cells = _cells(doc.get("value"), _flags(doc.get("status"), cube.ncells), cube.ncells)
    return _rows(cells, _Decoder(cube), cube.dataset_code, cube.updated)


def parse_arrays(payload: bytes, options: Mapping[str, Any], parts: int = 8) -> ArrayBatch:
    """The rows of ``parse`` for the bulk loader, in about ``parts`` parts. Validates eagerly like ``parse``."""
    doc = _load(payload)
    cube = _cube(doc, options)
    flags = _flag_arrays(doc.pop("status", None), cube.ncells)
    index, values = _value_arrays(doc.pop("value", None), cube.ncells)
    return _array_batch(cube, _cell_arrays(index, values, flags), parts)


def dataset_updated(payload: bytes) -> datetime | None:
    """The dataset's ``updated`` stamp (what Eurostat changes when it publishes new data)."""
    return _updated(_load(payload).get("updated"))


def _cube(doc: dict[str, Any], options: Mapping[str, Any]) -> _Cube:
    ids, sizes = _shape(doc)
    codes = [_category_codes(doc["dimension"], dim, size) for dim, size in zip(ids, sizes, strict=True)]
    time = _time_dimension(doc, ids, options)
    geo, geo_code = _geo_dimension(doc, ids, options)
    if geo == time:
        raise ParseError(f"JSON-stat: dimension {geo!r} cannot be both the geo and the time dimension")
    updated = _updated(doc.get("updated"))
    return _Cube(ids, sizes, codes, geo, geo_code, time, _dataset_code(doc, options), updated)


def _time_dimension(doc: dict[str, Any], ids: list[str], options: Mapping[str, Any]) -> str:
    """The ``time_dimension`` option, else ``time``, else the one dimension ``role.time`` names."""
    if options.get("time_dimension"):
        named = str(options["time_dimension"])
        if named not in ids:
            raise ParseError(f"JSON-stat: no time dimension {named!r} among {ids!r}")
        return named
    found = "time" if "time" in ids else _by_role(doc, ids, "time")
    if found is None:
        raise ParseError(f"JSON-stat: no time dimension 'time' among {ids!r}: set the time_dimension option")
    return found


def _geo_dimension(doc: dict[str, Any], ids: list[str], options: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(geo dimension, None), or (None, the ``geo`` option's constant code) for a cube without a geo dimension."""
    named = str(options["geo_dimension"]) if options.get("geo_dimension") else None
    if named:
        found = named if named in ids else None
    elif "geo" in ids:
        found = "geo"
    else:
        found = _by_role(doc, ids, "geo") or next((dim for dim in GEO_CANDIDATES if dim in ids), None)
    constant = options.get("geo")
    if constant is None:
        if found is None:
            raise ParseError(
                f"JSON-stat: no geo dimension {named or 'geo'!r} among {ids!r}: set the geo_dimension option, "
                "or the geo option to a constant geo code"
            )
        return found, None
    if not isinstance(constant, str) or not constant.strip():
        hint = ' (YAML reads an unquoted NO as false: quote the code, geo: "NO")' if isinstance(constant, bool) else ""
        raise ParseError(f"JSON-stat: the geo option is {constant!r}, not a geo code{hint}")
    if found is not None:
        raise ParseError(
            f"JSON-stat: the geo option names a constant geo {constant!r}, but the cube has a geo dimension {found!r}"
        )
    return None, constant.strip()


def _by_role(doc: dict[str, Any], ids: list[str], role: str) -> str | None:
    """The one dimension of ``ids`` that ``role.<role>`` names, if it names exactly one."""
    named = doc.get("role", {}).get(role) if isinstance(doc.get("role"), dict) else None
    found = [dim for dim in named if isinstance(dim, str) and dim in ids] if isinstance(named, list) else []
    return found[0] if len(found) == 1 else None


def _rows(
    cells: Iterator[tuple[int, float | None, str | None]],
    decoder: _Decoder,
    dataset_code: str,
    updated: datetime | None,
) -> Iterator[tuple]:
    for index, value, flag in cells:
        dimensions, geo, time_period = decoder(index)
        yield dataset_code, dimensions, geo, time_period, value, flag, updated, None


def _load(payload: bytes) -> dict[str, Any]:
    data = decompressed(payload)
    if problem := json_depth_problem(data):
        raise ParseError(f"JSON-stat: {problem}")
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ParseError(f"JSON-stat: invalid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise ParseError(f"JSON-stat: top level is a {type(doc).__name__}, not an object")
    if doc.get("class") != "dataset" or doc.get("version") != "2.0":
        raise ParseError(
            "not a JSON-stat 2.0 dataset: expected class='dataset' and version='2.0', found "
            f"class={doc.get('class')!r}, version={doc.get('version')!r}{_legacy_hint(doc)}"
        )
    return doc


def _legacy_hint(doc: dict[str, Any]) -> str:
    """Name the legacy JSON-stat 1.x bundle shape ({code: {dimension: {id, size}, ...}}) if it is one."""
    if doc and all(isinstance(part, dict) and "dimension" in part for part in doc.values()):
        return f" (looks like a legacy JSON-stat 1.x bundle of dataset(s) {', '.join(doc)})"
    return ""


def _shape(doc: dict[str, Any]) -> tuple[list[str], list[int]]:
    ids, sizes, dimension = doc.get("id"), doc.get("size"), doc.get("dimension")
    if not isinstance(ids, list) or not isinstance(sizes, list) or len(ids) != len(sizes):
        raise ParseError(f"JSON-stat: 'id' and 'size' must be lists of equal length, got {ids!r} / {sizes!r}")
    if not isinstance(dimension, dict):
        raise ParseError("JSON-stat: 'dimension' object missing")
    if not all(isinstance(dim, str) for dim in ids) or len(set(ids)) != len(ids):
        raise ParseError(f"JSON-stat: 'id' {ids!r} is not a list of distinct dimension names")
    counts = []
    for dim, size in zip(ids, sizes, strict=True):
        if not isinstance(dim, str) or dim not in dimension:
            raise ParseError(f"JSON-stat: dimension {dim!r} listed in 'id' is not described in 'dimension'")
        if isinstance(size, str) and size.strip().isascii() and size.strip().isdigit():
            size = int(size)  # some publishers write "size": ["1", "287"]
        if type(size) is not int or size < 0:
            raise ParseError(f"JSON-stat: size of dimension {dim!r} is {size!r}, not a count")
        counts.append(size)
    return ids, counts


def _category_codes(dimension: dict[str, Any], dim: str, size: int) -> list[str]:
    """Category codes of one dimension in position order; ``index`` may be an array or an object."""
    category = _member(dimension[dim], "category")
    index = category.get("index")
    if index is None:  # allowed for single-category dimensions: the code is the label's key
        index = list(_member(category, "label"))
    if isinstance(index, dict):
        codes: list[Any] = [None] * len(index)
        for code, position in index.items():
            if type(position) is not int or not 0 <= position < len(index) or codes[position] is not None:
                raise ParseError(f"JSON-stat: dimension {dim!r}: bad or repeated index {position!r} for {code!r}")
            codes[position] = code
        index = codes
    if not isinstance(index, list) or not all(isinstance(code, str) for code in index):
        raise ParseError(f"JSON-stat: dimension {dim!r}: category index is not a list of codes")
    if len(index) != size:
        raise ParseError(f"JSON-stat: dimension {dim!r} has {len(index)} categories but size {size}")
    return [code.strip() for code in index]


class _Decoder:
    """Flat index → (dimensions JSON, geo code, time code), caching the JSON per non-geo/time combination."""

    def __init__(self, cube: _Cube) -> None:
        strides = [math.prod(cube.sizes[axis + 1 :]) for axis in range(len(cube.sizes))]
        axes = [(dim, strides[axis], cube.sizes[axis], cube.codes[axis]) for axis, dim in enumerate(cube.ids)]
        constant = ("", 1, 1, [cube.geo_code or ""])  # no geo dimension: position 0 of one code everywhere
        self._geo = axes[cube.ids.index(cube.geo)] if cube.geo is not None else constant
        self._time = axes[cube.ids.index(cube.time)]
        self._others = [axis for axis in axes if axis[0] not in (cube.geo, cube.time)]
        self._json: dict[int, str] = {}

    def __call__(self, index: int) -> tuple[str, str, str]:
        _, geo_stride, geo_size, geo_codes = self._geo
        _, time_stride, time_size, time_codes = self._time
        geo_pos = index // geo_stride % geo_size
        time_pos = index // time_stride % time_size
        rest = index - geo_pos * geo_stride - time_pos * time_stride  # flat index with geo = time = 0
        dimensions = self._json.get(rest)
        if dimensions is None:
            dimensions = self._json[rest] = _dimensions_json(
                {dim: codes[rest // stride % size] for dim, stride, size, codes in self._others}
            )
        return dimensions, geo_codes[geo_pos], time_codes[time_pos]


def _dimensions_json(dimensions: dict[str, str]) -> str:
    return orjson.dumps(dimensions, option=orjson.OPT_SORT_KEYS).decode()


def _flags(status: Any, ncells: int) -> Flags:
    """Normalise ``status`` (absent, one string for all cells, dense array or sparse object)."""
    status = _one_for_all(status, ncells)
    if status is None:
        return {}, None
    if isinstance(status, str):
        return {}, status or None
    if isinstance(status, list):
        if len(status) != ncells:
            raise ParseError(f"JSON-stat: 'status' has {len(status)} entries but the sizes give {ncells} cells")
        entries: Iterable[tuple[int, Any]] = enumerate(status)
    elif isinstance(status, dict):
        entries = _by_flat_index(status, ncells, "status").items()
    else:
        raise ParseError(f"JSON-stat: 'status' is a {type(status).__name__}")
    flags: dict[int, str] = {}
    for index, flag in entries:
        if flag is not None and not isinstance(flag, str):
            raise ParseError(f"JSON-stat: status at flat index {index} is {flag!r}, not a string")
        if flag:
            flags[index] = flag
    return flags, None


def _one_for_all(status: Any, ncells: int) -> Any:
    """A one-element ``status`` array of a cube with more (or no) cells is the flag of every cell, like a string."""
    if not (isinstance(status, list) and len(status) == 1 and ncells != 1):
        return status
    if status[0] is not None and not isinstance(status[0], str):
        raise ParseError(f"JSON-stat: status at flat index 0 is {status[0]!r}, not a string")
    return status[0]


def _cells(values: Any, flags: Flags, ncells: int) -> Iterator[tuple[int, float | None, str | None]]:
    """(flat index, value, flag) of every emitted cell, in flat-index order."""
    explicit, default = flags
    if isinstance(values, list):
        if len(values) != ncells:
            raise ParseError(f"JSON-stat: 'value' has {len(values)} entries but the sizes give {ncells} cells")
        indexed: Any = enumerate(values)
    elif isinstance(values, dict):
        sparse = _by_flat_index(values, ncells, "value")
        order = sorted(sparse if explicit.keys() <= sparse.keys() else sparse.keys() | explicit.keys())
        indexed = zip(order, map(sparse.get, order), strict=True)
    else:
        raise ParseError(f"JSON-stat: 'value' must be an array or an object, not {type(values).__name__}")
    return _emitted(indexed, explicit, default)


def _emitted(
    indexed: Iterator[tuple[int, Any]], explicit: dict[int, str], default: str | None
) -> Iterator[tuple[int, float | None, str | None]]:
    for index, value in indexed:
        if value is None:
            if index in explicit:
                yield index, None, explicit[index]
        elif type(value) is int or type(value) is float:
            yield index, float(value), explicit.get(index, default)
        else:
            raise ParseError(f"JSON-stat: value at flat index {index} is {value!r}, not a number")


def _by_flat_index(sparse: dict[str, Any], ncells: int, member: str) -> dict[int, Any]:
    """A sparse ``value``/``status`` object re-keyed by int flat index, every key checked < ``ncells``."""
    try:
        by_index = {int(key): entry for key, entry in sparse.items()}
    except ValueError as exc:
        raise ParseError(f"JSON-stat: '{member}' has a key that is not a flat index ({exc})") from None
    if by_index and not (min(by_index) >= 0 and max(by_index) < ncells):
        bad = next(key for key in sparse if not 0 <= int(key) < ncells)
        raise ParseError(f"JSON-stat: '{member}' key {bad!r} is out of range: the sizes give {ncells} cells")
    return by_index


def _member(parent: Any, name: str) -> dict[str, Any]:
    """``parent[name]`` when both are objects, else an empty mapping (optional metadata)."""
    child = parent.get(name) if isinstance(parent, dict) else None
    return child if isinstance(child, dict) else {}


def _dataset_code(doc: dict[str, Any], options: Mapping[str, Any]) -> str:
    """The ``dataset_code`` option as given, else ``extension.id`` lower-cased (Eurostat's API code)."""
    if options.get("dataset_code"):
        return str(options["dataset_code"]).strip()
    code = _member(doc, "extension").get("id")
    if not isinstance(code, str) or not code.strip():
        raise ParseError("JSON-stat: no dataset code: set the 'dataset_code' parse option or 'extension.id'")
    return code.strip().lower()


def _updated(updated: Any) -> datetime | None:
    """``updated`` as an aware datetime; a stamp without an offset is taken as UTC."""
    if updated is None:
        return None
    try:
        stamp = datetime.fromisoformat(updated)
    except (TypeError, ValueError):
        raise ParseError(f"JSON-stat: 'updated' is {updated!r}, not an ISO 8601 date-time") from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


# --- the bulk path: every cell at once, in numpy arrays -----------------------------------------------------

NUMBER_TYPES = frozenset({int, float, type(None)})
FLAG_TYPES = frozenset({str, type(None)})


@dataclass(frozen=True)
class _FlagArrays:
    index: np.ndarray  # flat indices of the cells that carry their own flag
    codes: np.ndarray  # each one's flag, as a position in ``labels``
    labels: list[str]
    everywhere: bool  # ``status`` was one string, ``labels[0]``: it flags every value


@dataclass(frozen=True)
class _CellArrays:
    index: np.ndarray  # flat indices of the emitted cells, ascending
    values: np.ndarray  # float64, NaN where the value is null
    flags: np.ndarray  # position in ``labels``, -1 where the cell has no flag
    labels: list[str]


def _array_batch(cube: _Cube, cells: _CellArrays, parts: int) -> ArrayBatch:
    """Geo, time, flags and the other dimensions' combination as codes into dictionaries; values as is."""
    strides = [math.prod(cube.sizes[axis + 1 :]) for axis in range(len(cube.sizes))]
    time_axis = cube.ids.index(cube.time)
    time = cells.index // strides[time_axis] % cube.sizes[time_axis]
    rest = cells.index - time * strides[time_axis]  # flat index at geo = time = 0
    constants = {"dataset_code": cube.dataset_code, "dataset_updated": cube.updated, "confidentiality": None}
    dictionaries = {"time_period": cube.codes[time_axis], "flags": cells.labels}
    by_geo = {}
    if cube.geo is None:
        constants["geo"] = cube.geo_code
    else:
        geo_axis = cube.ids.index(cube.geo)
        by_geo["geo"] = geo = cells.index // strides[geo_axis] % cube.sizes[geo_axis]
        rest = rest - geo * strides[geo_axis]
        dictionaries["geo"] = cube.codes[geo_axis]
    combos, present = _compact(rest, cube.ncells)
    decoder = _Decoder(cube)
    columns = {"dimensions": combos, **by_geo, "time_period": time, "value": cells.values, "flags": cells.flags}
    bounds = np.linspace(0, cells.index.size, max(1, min(parts, cells.index.size)) + 1, dtype=np.int64)
    slices = zip(bounds[:-1], bounds[1:], strict=True)
    return ArrayBatch(
        columns=tuple(columns),
        parts=[[array[start:stop] for array in columns.values()] for start, stop in slices],
        dictionaries={"dimensions": [decoder(int(index))[0] for index in present], **dictionaries},
        constants=constants,
    )


def _compact(keys: np.ndarray, bound: int) -> tuple[np.ndarray, np.ndarray]:
    """(codes, present): ``keys`` (each < ``bound``) renumbered 0.. in order of the distinct keys present."""
    if bound > 8 * keys.size + 65536:  # too many possible keys for a lookup table: sort instead
        present, codes = np.unique(keys, return_inverse=True)
        return codes, present
    present = np.flatnonzero(np.bincount(keys, minlength=bound))
    lookup = np.empty(bound, np.int64)
    lookup[present] = np.arange(present.size)
    return lookup[keys], present


def _flag_arrays(status: Any, ncells: int) -> _FlagArrays:
    """``status`` (absent, one string, dense array or sparse object) as arrays; the checks of ``_flags``."""
    status = _one_for_all(status, ncells)
    if status is None or isinstance(status, str):
        none = np.empty(0, np.int64)
        return _FlagArrays(none, none, [status] if status else [], bool(status))
    if isinstance(status, list):
        if len(status) != ncells:
            raise ParseError(f"JSON-stat: 'status' has {len(status)} entries but the sizes give {ncells} cells")
        index, entries = np.arange(ncells), status
    elif isinstance(status, dict):
        index, entries = _flat_index_array(status, ncells, "status"), list(status.values())
    else:
        raise ParseError(f"JSON-stat: 'status' is a {type(status).__name__}")
    _check_types(entries, index, FLAG_TYPES, "status", "a string")
    flags = np.array(entries, dtype=object)
    flagged = flags.astype(bool)  # None and "" are no flag
    labels, codes = np.unique(flags[flagged].astype(str), return_inverse=True)
    return _FlagArrays(index[flagged], codes, labels.tolist(), False)


def _value_arrays(values: Any, ncells: int) -> tuple[np.ndarray, np.ndarray]:
    """(flat indices ascending, float64 values with NaN for null) of ``value``; the checks of ``_cells``."""
    if isinstance(values, list):
        if len(values) != ncells:
            raise ParseError(f"JSON-stat: 'value' has {len(values)} entries but the sizes give {ncells} cells")
        _check_types(values, np.arange(ncells), NUMBER_TYPES, "value", "a number")
        return np.arange(ncells), np.array(values, dtype=np.float64)
    if not isinstance(values, dict):
        raise ParseError(f"JSON-stat: 'value' must be an array or an object, not {type(values).__name__}")
    index, numbers = _flat_index_array(values, ncells, "value"), list(values.values())
    _check_types(numbers, index, NUMBER_TYPES, "value", "a number")
    order = np.argsort(index)
    return index[order], np.array(numbers, dtype=np.float64)[order]


def _flat_index_array(sparse: dict[str, Any], ncells: int, member: str) -> np.ndarray:
    """The keys of a sparse ``value``/``status`` object as int flat indices, each checked < ``ncells``."""
    try:
        index = np.fromiter(map(int, sparse), np.int64, len(sparse))
    except ValueError as exc:
        raise ParseError(f"JSON-stat: '{member}' has a key that is not a flat index ({exc})") from None
    if index.size and not (index.min() >= 0 and index.max() < ncells):
        bad = next(key for key, position in zip(sparse, index, strict=True) if not 0 <= position < ncells)
        raise ParseError(f"JSON-stat: '{member}' key {bad!r} is out of range: the sizes give {ncells} cells")
    return index


def _check_types(entries: list[Any], index: np.ndarray, allowed: frozenset, member: str, what: str) -> None:
    """Raise on the entry of lowest flat index whose type is not ``allowed`` (the one ``parse`` meets first)."""
    if set(map(type, entries)) <= allowed:
        return
    position, entry = min((int(index[i]), entry) for i, entry in enumerate(entries) if type(entry) not in allowed)
    raise ParseError(f"JSON-stat: {member} at flat index {position} is {entry!r}, not {what}")


def _cell_arrays(index: np.ndarray, values: np.ndarray, flags: _FlagArrays) -> _CellArrays:
    """The emitted cells (a value, or a null with its own flag), ascending by flat index, with their flags."""
    present = ~np.isnan(values)
    cells = index[present]
    flagged_nulls = flags.index[~_is_in(flags.index, cells)]
    if flagged_nulls.size:
        cells = np.union1d(cells, flagged_nulls)
    cell_values = np.full(cells.size, np.nan)
    cell_values[np.searchsorted(cells, index[present])] = values[present]
    cell_flags = np.full(cells.size, 0 if flags.everywhere else -1, np.int16)
    cell_flags[np.searchsorted(cells, flags.index)] = flags.codes
    return _CellArrays(cells, cell_values, cell_flags, flags.labels)


def _is_in(keys: np.ndarray, ascending: np.ndarray) -> np.ndarray:
    """Whether each key occurs in the ascending array (a binary search per key)."""
    position = np.minimum(np.searchsorted(ascending, keys), max(ascending.size - 1, 0))
    return ascending[position] == keys if ascending.size else np.zeros(keys.size, bool)
