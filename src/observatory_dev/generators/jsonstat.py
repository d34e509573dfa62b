"""A JSON-stat 2.0 cube of ``n`` observations in the exact shape of Eurostat's Statistics API answer.

Like ``GET …/statistics/1.0/data/migr_pop1ctz?format=JSON&lang=EN``: ``version``, ``class``, ``label``,
``source`` (ESTAT), ``updated``; sparse ``value`` and ``status`` objects whose keys are flat cell indexes as strings,
in no particular order; ``id`` and ``size``; each dimension with its label and its categories' ``index`` and
``label``; and ``extension`` with the dataset id, the status flags' labels (``extension.status.label``), the
positions with no data and the dissemination annotations. About 15 % of the observations are flagged (p, b, e).

The body is held in memory (orjson): about 40 bytes a cell, over a GB at 30 million cells; ``sdmx_csv`` streams.
"""

from __future__ import annotations

import numpy as np
import orjson

from observatory_dev.generators import FLAGGED_SHARE, FLAGS, Cube, population_cube

UPDATED = "2026-09-22T23:00:00+0200"


def synthetic_cube(n: int, seed: int = 20261126, cube: Cube | None = None, revision: int = 0) -> bytes:
    """A JSON-stat 2.0 response of exactly ``n`` observations (default shape: ``population_cube(n)``); ``revision``
    changes the values (and the ``updated`` stamp) of the same cells."""
    cube = cube or population_cube(n)
    if n > cube.cells:
        raise ValueError(f"{n} observations do not fit in a cube of {cube.cells} cells")
    rng = np.random.default_rng(seed)
    cells = rng.choice(cube.cells, size=n, replace=False)  # unsorted, like the API's keys
    flagged = rng.random(n) < FLAGGED_SHARE
    flags = rng.choice(list(FLAGS), int(flagged.sum()))
    values = np.random.default_rng([seed, revision]).integers(0, 2_000_000, n)
    updated = UPDATED if revision == 0 else f"2026-09-{22 + revision % 7:02d}T23:00:00+0200"
    keys = cells.astype(str)
    return orjson.dumps(
        {
            "version": "2.0",
            "class": "dataset",
            "label": cube.title,
            "source": "ESTAT",
            "updated": updated,
            "value": dict(zip(keys.tolist(), values.tolist(), strict=True)),
            "status": dict(zip(keys[flagged].tolist(), flags.tolist(), strict=True)),
            "id": [dimension.id for dimension in cube.dimensions],
            "size": list(cube.sizes),
            "dimension": {
                dimension.id: {
                    "label": dimension.label,
                    "category": {
                        "index": {code: i for i, (code, _) in enumerate(dimension.codes)},
                        "label": dict(dimension.codes),
                    },
                }
                for dimension in cube.dimensions
            },
            "extension": {
                "lang": "EN",
                "id": cube.dataset.upper(),
                "agencyId": "ESTAT",
                "version": "1.0",
                "datastructure": {"id": cube.dataset.upper(), "agencyId": "ESTAT", "version": "75.0"},
                "status": {"label": FLAGS},
                "positions-with-no-data": {dimension.id: [] for dimension in cube.dimensions},
                "annotation": [
                    {"type": "DISSEMINATION_OBJECT_TYPE", "title": "DATASET"},
                    {"type": "DISSEMINATION_TIMESTAMP_DATA", "date": updated},
                    {"type": "OBS_COUNT", "title": str(n)},
                    {"type": "UPDATE_DATA", "date": updated},
                ],
            },
        }
    )
