"""A paged collection killed after page k, then the interval run again: the raw rows are those of an uninterrupted
run, without duplicates. The pipeline passes the batch's load id to a ``RESUMABLE`` collector (``collect_source``):
the paged collector resumes from the first page not landed, the landed pages read back from the landing zone."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import yaml

from observatory import pipeline
from observatory.collect import paged
from observatory.collect.http import FetchError
from observatory.config.registry import load_registry
from observatory.config.settings import Settings
from observatory.warehouse.raw_tables import RAW_TABLES

SOURCE = "resume_cohesion"
REFERENCE = "resume_cohesion_reference"
DAY = datetime(2026, 5, 1, tzinfo=UTC)
PAGES = 5  # the sample's 9 records, 2 a page
KILLED_AFTER = 2
REFERENCE_LOAD_ID = pipeline.load_id_for(REFERENCE, DAY)
COLUMNS = ", ".join(RAW_TABLES["funding_operation"].column_names)


class Killed(BaseException):
    """The worker's process dies: nothing of the pipeline's error handling runs (unlike an ``Exception``)."""


@pytest.fixture()
def registry(tmp_path, monkeypatch) -> Path:
    """The project's registry plus two copies of the cohesion entry paging 2 records at a time."""
    document = yaml.safe_load(Settings.from_env().registry_path.read_text(encoding="utf-8"))
    entry = document["sources"]["funding_cohesion_eu_operations"]
    entry["collect"] = {**entry["collect"], "page_size": 2}
    document["sources"] = {SOURCE: entry, REFERENCE: entry}
    path = tmp_path / "sources.yml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    monkeypatch.setenv("OBSERVATORY_REGISTRY", str(path))
    return path


class Requests(list[str]):
    """The URLs the paged collector GETs (pages answered from the landing zone are not requested); the
    ``fail_at``-th request raises ``error`` instead."""

    fail_at: int | None = None
    error: BaseException | None = None

    def fail(self, at: int | None, error: BaseException | None = None) -> None:
        self.fail_at, self.error = at, error

    def reset(self) -> None:
        self.clear()
        self.fail(None)


@pytest.fixture()
def requests_made(monkeypatch) -> Requests:
    made = Requests()
    real = paged.fetch_url

    def counting(session, url, **kwargs):
        made.append(url)
        if made.fail_at == len(made) and made.error is not None:
            raise made.error
        return real(session, url, **kwargs)

    monkeypatch.setattr(paged, "fetch_url", counting)
    return made


def raw_rows(dsn: str, source_id: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            f"select {COLUMNS} from raw.funding_operation where source_id = %s order by operation_key", (source_id,)
        ).fetchall()


def fetch_log(dsn: str, load_id: str) -> list[tuple[str, str]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "select outcome, resource from audit.fetch_log where load_id = %s order by fetch_id", (load_id,)
        ).fetchall()


@pytest.fixture()
def reference(warehouse_dsn, sample_base_url, landing_dir, registry) -> list[tuple]:
    """The rows of an uninterrupted run."""
    assert pipeline.run_source(REFERENCE, DAY) == 9
    return raw_rows(warehouse_dsn, REFERENCE)


def assert_same_rows_as_reference(dsn: str, reference: list[tuple]) -> None:
    rows = raw_rows(dsn, SOURCE)
    assert [row[1:] for row in rows] == [row[1:] for row in reference]  # all but source_id
    assert len({row[2] for row in rows}) == len(rows) == 9  # operation_key: no duplicates


def test_a_failed_fetch_rerun_resumes_cleanly(warehouse_dsn, reference, requests_made, monkeypatch) -> None:
    requests_made.fail(KILLED_AFTER + 1, FetchError("GET …: connection reset"))
    with pytest.raises(FetchError):
        pipeline.run_source(SOURCE, DAY)
    load_id = pipeline.load_id_for(SOURCE, DAY)
    assert [outcome for outcome, _ in fetch_log(warehouse_dsn, load_id)] == ["fetched"] * KILLED_AFTER + ["failed"]
    requests_made.reset()
    assert pipeline.run_source(SOURCE, DAY) == 9  # the pipeline passes the load id: the rerun resumes
    assert len(requests_made) == PAGES - KILLED_AFTER
    assert_same_rows_as_reference(warehouse_dsn, reference)


@pytest.mark.parametrize("death", [Killed("SIGKILL"), FetchError("GET …: HTTP 503")], ids=["killed", "failed"])
def test_a_resumable_rerun_fetches_from_the_first_page_not_landed(
    warehouse_dsn, reference, requests_made, monkeypatch, death
) -> None:
    requests_made.fail(KILLED_AFTER + 1, death)
    with pytest.raises(type(death)):
        pipeline.run_source(SOURCE, DAY)
    landed_before = requests_made[:KILLED_AFTER]
    requests_made.reset()
    assert pipeline.run_source(SOURCE, DAY) == 9
    assert len(requests_made) == PAGES - KILLED_AFTER  # pages 1..k came from the landing zone
    assert not set(requests_made) & set(landed_before)
    assert_same_rows_as_reference(warehouse_dsn, reference)
    log = fetch_log(warehouse_dsn, pipeline.load_id_for(SOURCE, DAY))
    assert [resource for outcome, resource in log if outcome == "fetched"][-PAGES:] == landed_before + requests_made


def test_a_finished_batch_is_fetched_again(warehouse_dsn, reference, requests_made, monkeypatch) -> None:
    assert pipeline.run_source(SOURCE, DAY) == 9
    assert paged.landed_pages(SOURCE, pipeline.load_id_for(SOURCE, DAY)) == {}  # published: nothing to resume
    requests_made.clear()
    assert pipeline.run_source(SOURCE, DAY) == 9
    assert len(requests_made) == PAGES
    assert_same_rows_as_reference(warehouse_dsn, reference)


def test_a_landed_page_whose_file_is_gone_is_fetched_again(
    warehouse_dsn, reference, requests_made, monkeypatch, landing_dir
) -> None:
    requests_made.fail(KILLED_AFTER + 1, Killed())
    with pytest.raises(Killed):
        pipeline.run_source(SOURCE, DAY)
    pages = paged.landed_pages(SOURCE, pipeline.load_id_for(SOURCE, DAY))
    assert list(pages) == requests_made[:KILLED_AFTER]
    first, digest = requests_made[0], pages[requests_made[0]].content_sha256
    (landing_dir / SOURCE / digest[:2] / digest).unlink()  # the landing zone lost the first page
    landed = [url for _, url in fetch_log(warehouse_dsn, REFERENCE_LOAD_ID)][-PAGES:]  # the uninterrupted run
    requests_made.reset()
    assert pipeline.run_source(SOURCE, DAY) == 9
    assert requests_made == [first, *landed[KILLED_AFTER:]]  # page 1 again (its file is gone), then the rest
    assert_same_rows_as_reference(warehouse_dsn, reference)


def test_the_collector_without_a_load_id_never_reads_the_warehouse(registry, sample_base_url, monkeypatch) -> None:
    def no_warehouse(*args):
        raise AssertionError("read the warehouse")

    monkeypatch.setattr(paged, "landed_pages", no_warehouse)
    source = load_registry(settings=Settings.from_env())[SOURCE]
    pages = [fetch() for _, fetch in paged.collect(source)]
    assert len(pages) == PAGES and pages[-1].payload.count(b"beneficiary_name") == 1
