"""The bulk row shape a parser may yield instead of tuples: column-wise numpy arrays."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ArrayBatch:
    """A parser's rows for the bulk path, column-wise: each part holds one numpy array per name in
    ``columns``: for a column in ``dictionaries``, integer codes into its list of values (-1: NULL), so the
    server reads each distinct value once however many rows share it; for any other, numbers (NaN: NULL).
    ``constants`` are raw-table columns with one value for every row. ``parts`` may be a generator (a streaming
    parser) whose dictionaries grow as it is read: they are complete once the parts are."""

    columns: tuple[str, ...]
    parts: Iterable[Sequence[np.ndarray]]
    dictionaries: Mapping[str, Sequence[Any]]
    constants: Mapping[str, Any]
