"""Precision and recall of the extractor against hand-labelled documents (``make eval``).

Each ``tests/eval/*.yml`` names a document in ``sample_data/reports`` or ``tests/eval/documents`` and
lists its facts::

    document: report.txt
    facts:
      - {kind: city, text: Milan, occurrence: 2, geonames_id: 3173435}
      - {kind: money, text: "€200 million", amount: 200000000, currency: EUR}

``occurrence`` (default 1) says which occurrence of ``text`` in the document is meant, counting
every occurrence of the string; ``context`` (a longer string containing ``text``) may be given to
locate it instead. An event is labelled by the text of its date. A predicted fact matches a label of
its kind when their spans overlap and the key values agree: city ``geonames_id`` (or, for a city not in
GeoNames, the text), date and event ``start_date`` and ``end_date``, money ``amount`` and ``currency``, share and count
``value``, programme ``code``. Each label matches at most one fact.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from observatory.extract.facts import Fact
from observatory.extract.pipeline import extract_facts

LABELLED_KINDS = ("city", "date", "event", "money", "share", "count", "programme")
KEYS = {
    "date": ("start_date", "end_date"),
    "event": ("start_date", "end_date"),
    "money": ("amount", "currency"),
    "share": ("value",),
    "count": ("value",),
    "programme": ("code",),
}


@dataclass(frozen=True)
class Label:
    """A hand-labelled fact: kind, span and the values it must have."""

    kind: str
    start: int
    end: int
    text: str
    values: dict[str, Any]


@dataclass
class Score:
    """Counts for one kind."""

    labelled: int = 0
    predicted: int = 0
    true_positives: int = 0
    missed: list[tuple[str, Label]] = field(default_factory=list)  # (document, label)
    spurious: list[tuple[str, Fact]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.true_positives / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.labelled if self.labelled else 1.0


def document_path(name: str, eval_dir: Path, reports_dir: Path) -> Path:
    """The labelled document ``name``: a sample report, else one kept with the labels in ``documents/``."""
    for folder in (reports_dir, eval_dir / "documents"):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"labelled document {name!r} is in neither {reports_dir} nor {eval_dir / 'documents'}")


def load_labels(label_file: Path, text: str) -> list[Label]:
    """The labels of ``label_file``, with offsets found in ``text``."""
    labels = []
    for entry in yaml.safe_load(label_file.read_text(encoding="utf-8"))["facts"]:
        entry = dict(entry)
        kind, span_text = entry.pop("kind"), str(entry.pop("text"))
        context = str(entry.pop("context", span_text))
        occurrence = int(entry.pop("occurrence", 1))
        start = -1
        for _ in range(occurrence):
            start = text.find(context, start + 1)
            if start < 0:
                raise ValueError(f"{label_file.name}: occurrence {occurrence} of {context!r} not found")
        inner = context.find(span_text)
        if inner < 0:
            raise ValueError(f"{label_file.name}: {span_text!r} is not inside its context {context!r}")
        labels.append(Label(kind, start + inner, start + inner + len(span_text), span_text, entry))
    return labels


def _agrees(label: Label, fact: Fact) -> bool:
    if not (fact.start < label.end and label.start < fact.end):
        return False
    if label.kind == "city":
        expected = label.values.get("geonames_id")
        if expected is None:
            return fact.attributes.get("geonames_id") is None and fact.text == label.text
        return fact.attributes.get("geonames_id") == expected
    return all(fact.attributes.get(key) == label.values.get(key) for key in KEYS[label.kind])


def score_document(document: str, labels: list[Label], facts: list[Fact], scores: dict[str, Score]) -> None:
    """Add one document's matches to ``scores``."""
    for kind in LABELLED_KINDS:
        score = scores.setdefault(kind, Score())
        kind_labels = [label for label in labels if label.kind == kind]
        unmatched = [fact for fact in facts if fact.kind == kind]
        score.labelled += len(kind_labels)
        score.predicted += len(unmatched)
        for label in kind_labels:
            fact = next((fact for fact in unmatched if _agrees(label, fact)), None)
            if fact is None:
                score.missed.append((document, label))
            else:
                unmatched.remove(fact)
                score.true_positives += 1
        score.spurious.extend((document, fact) for fact in unmatched)


def evaluate(eval_dir: Path, reports_dir: Path) -> dict[str, Score]:
    """Scores per kind over every labelled document in ``eval_dir``."""
    scores: dict[str, Score] = {}
    label_files = sorted(eval_dir.glob("*.yml"))
    if not label_files:
        raise FileNotFoundError(f"no labelled documents (*.yml) in {eval_dir}")
    for label_file in label_files:
        header = yaml.safe_load(label_file.read_text(encoding="utf-8"))
        text = document_path(header["document"], eval_dir, reports_dir).read_text(encoding="utf-8")
        facts = extract_facts(text, document_year=header.get("document_year"))
        score_document(header["document"], load_labels(label_file, text), facts, scores)
    return scores


def format_table(scores: dict[str, Score]) -> str:
    """The per-kind table: kind, labelled, predicted, TP, precision, recall."""
    lines = [f"{'kind':<10} {'labelled':>8} {'predicted':>9} {'TP':>5} {'precision':>9} {'recall':>7}"]
    for kind, score in scores.items():
        lines.append(
            f"{kind:<10} {score.labelled:>8} {score.predicted:>9} {score.true_positives:>5} "
            f"{score.precision:>9.3f} {score.recall:>7.3f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the table (and, with ``--errors``, every miss and spurious fact)."""
    parser = argparse.ArgumentParser(prog="observatory-eval", description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=Path("tests/eval"))
    parser.add_argument("--reports-dir", type=Path, default=Path("sample_data/reports"))
    parser.add_argument("--errors", action="store_true", help="list missed labels and spurious facts")
    args = parser.parse_args(argv)
    try:
        scores = evaluate(args.eval_dir, args.reports_dir)
    except (OSError, ValueError) as exc:
        print(f"observatory eval: {exc}", file=sys.stderr)
        return 1
    print(format_table(scores))
    if args.errors:
        for kind, score in scores.items():
            for document, label in score.missed:
                print(f"missed    {kind:<9} {document} {label.start:>6} {label.text!r} {label.values}")
            for document, fact in score.spurious:
                print(f"spurious  {kind:<9} {document} {fact.start:>6} {fact.text!r} {fact.attributes}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
