"""``observatory extract``: JSON Lines out, one error line per unreadable file."""

from __future__ import annotations

import io
import json

from observatory.extract.cli import run


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
    page.write_text(
        "<html><body><main><p>The conference in Ghent drew 120 participants.</p></main></body></html>"
    )
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
