"""``observatory parse FORMAT FILE [--option KEY=VALUE ...]``: parse a local file as a source would, before adding it.

The options are the registry entry's ``parse`` options (values read as YAML: ``--option decimal=,``,
``--option 'columns={amount: Betrag}'``). Rows go to stdout as JSON Lines keyed by the raw table's columns;
rejected records (with where and why) and the parser's notes go to stderr, then one summary line,
``parsed rows=N rejected=R``. A file that cannot be parsed at all gives one line on stderr and exit 1.
"""

from __future__ import annotations

import mimetypes
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import orjson
import yaml

from observatory.parse import Note, ParseError, Rejected, parser_for
from observatory.parse.compression import decompressed
from observatory.warehouse.raw_tables import RAW_TABLES


def parse_options(pairs: Sequence[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs as a parse-options mapping (each value read as YAML, as in sources.yml)."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key.strip():
            raise ValueError(f"option {pair!r} is not KEY=VALUE")
        options[key.strip()] = yaml.safe_load(value) if value.strip() else ""
    return options


def run(format_name: str, path: str, pairs: Sequence[str], out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    parser = parser_for(format_name)
    file = Path(path)
    options = {"resource_name": file.name, "media_type": mimetypes.guess_type(file.name)[0], **parse_options(pairs)}
    table = RAW_TABLES[parser.RAW_TABLE]
    json_columns = {name for name, pg_type in table.columns if pg_type == "jsonb"}
    rows = rejected = 0
    try:
        payload = decompressed(file.read_bytes())
        for parsed in parser.parse(payload, options):
            if isinstance(parsed, Rejected):
                rejected += 1
                print(f"rejected {parsed.where}: {parsed.reason}", file=err)
            elif isinstance(parsed, Note):
                print(f"note {parsed.where}: {parsed.note}", file=err)
            else:
                rows += 1
                record = dict(zip(table.column_names, parsed, strict=True))
                for name in json_columns & record.keys():  # shown as JSON, not as JSON in a string
                    if isinstance(record[name], str):
                        record[name] = orjson.loads(record[name])
                out.write(orjson.dumps(record, default=str).decode("utf-8") + "\n")
    except (ParseError, OSError) as exc:
        print(f"observatory parse: {path}: {exc}", file=err)
        return 1
    print(f"parsed rows={rows} rejected={rejected}", file=err)
    return 0
