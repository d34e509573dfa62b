"""``observatory parse FORMAT FILE [--option KEY=VALUE ...]`` on real files: rows on stdout, the summary on stderr."""

from __future__ import annotations

import json
from pathlib import Path

from observatory.cli import main

PROJECT = Path(__file__).resolve().parents[2]
TSV = PROJECT / "sample_data" / "eurostat" / "estat_lfsa_ergan_filtered.tsv"


def test_rows_as_json_lines_and_one_summary_line(capsys) -> None:
    assert main(["parse", "eurostat_tsv", str(TSV), "--option", "dataset_code=lfsa_ergan"]) == 0
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    cells = sum(  # every non-empty cell of the real file: value, or ':' with a flag
        1
        for line in TSV.read_text(encoding="utf-8").splitlines()[1:]
        for cell in line.split("\t")[1:]
        if cell.strip() not in (":", "")
    )
    assert len(rows) == cells > 3000
    assert err.splitlines()[-1] == f"parsed rows={len(rows)} rejected=0"
    at_2021 = [
        r
        for r in rows
        if (r["geo"], r["time_period"]) == ("AT", "2021")
        and r["dimensions"] == {"age": "Y20-64", "citizen": "EU27_2020_FOR", "freq": "A", "sex": "F", "unit": "PC"}
    ]
    assert [(r["value"], r["flags"]) for r in at_2021] == [(70.4, "b")]


def test_options_are_read_as_yaml(capsys) -> None:
    options = ["--option", "dataset_code=lfsa_ergan", "--option", "geo_dimension=geo"]
    assert main(["parse", "eurostat_tsv", str(TSV), *options]) == 0
    assert capsys.readouterr().err.splitlines()[-1].startswith("parsed rows=")


def test_a_file_that_cannot_be_parsed_is_one_line_and_exit_1(capsys) -> None:
    assert main(["parse", "ics", str(PROJECT / "README.md")]) == 1
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1 and err.startswith(f"observatory parse: {PROJECT / 'README.md'}: ")


def test_an_unknown_format_or_option_is_one_line(capsys) -> None:
    assert main(["parse", "no_such_format", str(TSV)]) == 1
    assert main(["parse", "eurostat_tsv", str(TSV), "--option", "novalue"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "observatory parse: ValueError: no parser for format 'no_such_format'",
        "observatory parse: ValueError: option 'novalue' is not KEY=VALUE",
    ]
