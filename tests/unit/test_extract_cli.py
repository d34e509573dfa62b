"""``observatory extract``: JSON Lines out, one error line per unreadable file."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from observatory.extract.cli import run

REPORTS = Path(__file__).resolve().parents[2] / "sample_data" / "reports"


def test_prints_one_json_object_per_fact(tmp_path):
    report = tmp_path / "report.md"
    report.write_text("The forum met in Malmö on 3 May 2022 with 40 delegates.", encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert run([str(report)], out, err) == 0
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert err.getvalue() == ""
    assert {record["kind"] for record in records} >= {"city", "date", "count", "event"}
    for record in records:
        assert record["doc"] == str(report)
        assert {"kind", "text", "start", "end", "sentence"} <= record.keys()
    [city] = [record for record in records if record["kind"] == "city"]
    assert (city["name"], city["country_code"], city["geonames_id"]) == ("Malmö", "SE", 2692969)


def test_unreadable_files_give_one_error_line_and_the_others_are_still_done(tmp_path):
    good = tmp_path / "good.txt"
    good.write_text("Delegates met in Lyon.", encoding="utf-8")
    binary = tmp_path / "bad.txt"
    binary.write_bytes(b"\xff\xfe\xfa not utf-8")
    missing = tmp_path / "missing.txt"
    out, err = io.StringIO(), io.StringIO()
    assert run([str(missing), str(binary), str(good)], out, err) == 1
    errors = err.getvalue().splitlines()
    assert len(errors) == 2
    assert str(missing) in errors[0] and str(binary) in errors[1]
    assert "Traceback" not in err.getvalue()
    assert [json.loads(line)["name"] for line in out.getvalue().splitlines()] == ["Lyon"]


def test_other_formats_go_through_the_document_parser(tmp_path):
    page = tmp_path / "page.html"
    page.write_text("<html><body><main><p>The conference in Ghent drew 120 participants.</p></main></body></html>")
    out, err = io.StringIO(), io.StringIO()
    assert run([str(page)], out, err) == 0, err.getvalue()
    kinds = [json.loads(line)["kind"] for line in out.getvalue().splitlines()]
    assert "city" in kinds and "count" in kinds


def test_no_paths_is_a_usage_error():
    err = io.StringIO()
    assert run([], io.StringIO(), err) == 2
    assert "usage" in err.getvalue()


def test_defaults_to_the_current_standard_streams(tmp_path, capsys):
    report = tmp_path / "r.txt"
    report.write_text("Delegates met in Lyon.", encoding="utf-8")
    assert run([str(report), str(tmp_path / "none.txt")]) == 1
    captured = capsys.readouterr()
    assert '"name":"Lyon"' in captured.out and "none.txt" in captured.err


def test_installed_command_end_to_end(tmp_path):
    """`observatory extract` as installed: JSON Lines for the good files, one stderr line for the bad one."""
    command = Path(sys.executable).with_name("observatory")
    report = REPORTS / "eurocities_wg_migration_update_2019.txt"
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"%PDF-1.4 not really")
    result = subprocess.run(
        [str(command), "extract", str(scan), str(report)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 1
    [error] = result.stderr.splitlines()
    assert error.startswith(f"observatory extract: cannot read {scan}: corrupt or unreadable PDF")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    text = report.read_text(encoding="utf-8")
    assert records and all(record["doc"] == str(report) for record in records)
    assert all(text[record["start"] : record["end"]] == record["text"] for record in records)
    glasgow = next(record for record in records if record["kind"] == "city")
    assert (glasgow["text"], glasgow["geonames_id"], glasgow["country_code"]) == ("Glasgow", 2648579, "GB")
    [money] = [record for record in records if record["kind"] == "money"]
    assert (money["amount"], money["currency"]) == (200000000, "EUR")
    conference = next(record for record in records if record["kind"] == "event")
    assert (conference["title"], conference["start_date"], conference["end_date"], conference["city"]) == (
        "EUROCITIES Social Affairs Forum",
        "2019-03-25",
        "2019-03-27",
        "Glasgow",
    )
