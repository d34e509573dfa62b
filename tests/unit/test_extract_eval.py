"""Extraction quality on the hand-labelled seed reports (tests/eval), per kind."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from observatory.extract.facts import Fact
from observatory_dev.extraction_eval import (
    Label,
    document_path,
    evaluate,
    format_table,
    load_labels,
    main,
    score_document,
)

ROOT = Path(__file__).resolve().parents[2]
EVAL_DIR = ROOT / "tests" / "eval"
REPORTS_DIR = ROOT / "sample_data" / "reports"

THRESHOLDS = {  # kind: (minimum precision, minimum recall)
    "city": (0.95, 0.95),
    "money": (0.95, 0.9),
    "share": (0.95, 0.9),
    "count": (0.95, 0.9),
    "event": (0.0, 0.8),
}


@pytest.fixture(scope="module")
def scores():
    return evaluate(EVAL_DIR, REPORTS_DIR)


@pytest.mark.parametrize("kind", sorted(THRESHOLDS))
def test_quality_meets_the_thresholds(scores, kind):
    precision, recall = THRESHOLDS[kind]
    score = scores[kind]
    assert score.labelled > 0
    details = f"\n{format_table(scores)}\nmissed: {score.missed}\nspurious: {score.spurious}"
    assert score.precision >= precision, details
    assert score.recall >= recall, details


def test_every_label_file_names_a_report_and_every_label_is_found():
    for label_file in sorted(EVAL_DIR.glob("*.yml")):
        document = yaml.safe_load(label_file.read_text(encoding="utf-8"))["document"]
        text = document_path(document, EVAL_DIR, REPORTS_DIR).read_text(encoding="utf-8")
        labels = load_labels(label_file, text)
        assert labels
        assert all(text[label.start : label.end] == label.text for label in labels)


def test_matching_needs_overlap_and_the_same_key_values():
    label = Label("money", 10, 22, "€200 million", {"amount": 200000000, "currency": "EUR"})
    right = Fact("money", "€200 million", 10, 22, "", {"amount": 200000000, "currency": "EUR"})
    wrong_value = Fact("money", "€200 million", 10, 22, "", {"amount": 200, "currency": "EUR"})
    elsewhere = Fact("money", "€200 million", 40, 52, "", {"amount": 200000000, "currency": "EUR"})
    scores: dict = {}
    score_document("d", [label], [wrong_value, elsewhere, right], scores)
    assert (scores["money"].labelled, scores["money"].predicted, scores["money"].true_positives) == (1, 3, 1)


def test_main_prints_the_table(capsys):
    assert main(["--eval-dir", str(EVAL_DIR), "--reports-dir", str(REPORTS_DIR)]) == 0
    header, *rows = capsys.readouterr().out.splitlines()
    assert header.split() == ["kind", "labelled", "predicted", "TP", "precision", "recall"]
    assert {row.split()[0] for row in rows} >= set(THRESHOLDS)
