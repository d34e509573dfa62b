"""No downtime for BI readers while the marts are rebuilt: dashboard-style queries as `bi_reader`, through a new
connection each time and through one long-lived connection (threads), run in a loop while (1) a full `dbt build`
of the marts (`--full-refresh`, so the incremental mart is swapped too), (2) an incremental run after a new source
was published and (3) a contract-compatible column addition (a nullable column added to the scoreboard in a copy
of the project) happen. No query may fail or come back empty, and every result must be one of the states the marts
had between the steps."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlsplit

import psycopg
import pytest
import yaml

from observatory import pipeline
from observatory.config.settings import Settings
from observatory.warehouse import connection
from observatory_dev.docs_site import dbt_command
from observatory_dev.mart_contracts import project_copy

pytestmark = pytest.mark.integration

DAY = datetime(2026, 4, 1, tzinfo=UTC)
SOURCES = ("eurostat_lfsa_ergan", "eurostat_lfsa_urgan", "funding_esf_berlin")
NEW_SOURCE = "nodowntime_lfsa_urgan"  # a plain-HTTP copy of lfsa_urgan, published between the runs
ADDED_COLUMN = "dashboard_note"

# What dashboards ask: whole marts, aggregates and a join, each answer reduced to a fingerprint.
QUERIES = {
    "scoreboard": "select * from marts.mart_integration_scoreboard order by geo_code, indicator_id",
    "observations": """select source_id, load_id, count(*), sum(observation_value)
                       from marts.fct_indicator_observation group by 1, 2 order by 1, 2""",
    "funding": "select count(*), sum(committed_amount_eur) from marts.mart_funding_overview",
    "cities": "select count(*), count(foreign_citizen_population) from marts.mart_city_profile",
    "ranked": """select g.geo_name, s.indicator_id, s.gap from marts.mart_integration_scoreboard as s
                 inner join marts.dim_geo as g on s.geo_code = g.geo_code
                 where s.is_ranked order by s.gap, g.geo_name, s.indicator_id limit 10""",
    "scoreboard_columns": """select geo_code, indicator_id, period_used, gap, rank_among_countries
                             from marts.mart_integration_scoreboard order by geo_code, indicator_id""",
}
# A statement prepared on the server fails with "cached plan must not change result type" once its result columns
# change (PostgreSQL's rule; psycopg 3 then keeps failing on that connection): a connection that prepares asks
# with named columns only (see README, "Connect a BI tool").
PREPARED_QUERIES = [name for name in QUERIES if name != "scoreboard"]


def fingerprint(cursor: psycopg.Cursor) -> tuple[tuple[str, ...], int, str]:
    """Column names, row count and a digest of the rows; an empty answer counts as a failure."""
    rows = cursor.fetchall()
    if not rows or rows[0][0] in (0, None):
        raise AssertionError("empty result")
    names = tuple(column.name for column in cursor.description or ())
    return names, len(rows), hashlib.sha256(repr(rows).encode()).hexdigest()


def state(dsn: str) -> dict[str, tuple]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return {name: fingerprint(conn.execute(query)) for name, query in QUERIES.items()}


class Readers:
    """BI readers in threads until ``stop``: each answer or error is recorded with the kind of connection."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.stop = threading.Event()
        self.answers: list[tuple[str, str, object]] = []  # (connection kind, query, fingerprint or error)
        self.lock = threading.Lock()
        self.threads = [
            threading.Thread(target=self.new_connection_each_time, daemon=True),
            threading.Thread(target=self.new_connection_each_time, daemon=True),
            threading.Thread(target=self.one_long_lived_connection, args=(False,), daemon=True),
            threading.Thread(target=self.one_long_lived_connection, args=(True,), daemon=True),
        ]

    def record(self, kind: str, name: str, answer: object) -> None:
        with self.lock:
            self.answers.append((kind, name, answer))

    def ask(self, kind: str, conn: psycopg.Connection, name: str) -> None:
        try:
            self.record(kind, name, fingerprint(conn.execute(QUERIES[name])))
        except (psycopg.Error, AssertionError) as exc:
            self.record(kind, name, f"{type(exc).__name__}: {exc}")
        time.sleep(0.05)

    def new_connection_each_time(self) -> None:
        while not self.stop.is_set():
            for name in QUERIES:
                try:
                    with psycopg.connect(self.dsn, autocommit=True) as conn:
                        self.ask("new", conn, name)
                except psycopg.OperationalError as exc:
                    self.record("new", name, f"connect: {exc}")

    def one_long_lived_connection(self, prepared: bool) -> None:
        """Without server-side prepared statements (as psycopg2, and so Superset, asks), or with psycopg 3's
        default (each query prepared from its 5th run on)."""
        kind, names = ("long-lived prepared", PREPARED_QUERIES) if prepared else ("long-lived", list(QUERIES))
        with psycopg.connect(self.dsn, autocommit=True, prepare_threshold=5 if prepared else None) as conn:
            while not self.stop.is_set():
                for name in names:
                    self.ask(kind, conn, name)

    def __enter__(self) -> Readers:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=180)


@pytest.fixture(scope="module")
def warehouse(warehouse_dsn: str, sample_base_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The marts built from three sources; a registry with NEW_SOURCE; bi_reader's connection string."""
    work = tmp_path_factory.mktemp("no_downtime")
    settings = Settings.from_env()
    registry = yaml.safe_load(settings.registry_path.read_text(encoding="utf-8"))
    entry = {key: value for key, value in registry["sources"]["eurostat_lfsa_urgan"].items() if key != "collect"}
    entry.update(collector="http", urls=["${OBSERVATORY_SAMPLE_BASE_URL}/eurostat/estat_lfsa_urgan_filtered.tsv"])
    registry["sources"][NEW_SOURCE] = entry
    (work / "sources.yml").write_text(yaml.safe_dump(registry, sort_keys=False), encoding="utf-8")
    settings = settings.replace(registry_path=work / "sources.yml", landing_dir=work / "landing")
    for source_id in SOURCES:
        assert pipeline.run_source(source_id, DAY, settings) > 0
    target = str(work / "target")
    marts = ["--select", "+path:models/marts", "--resource-type", "model", "--resource-type", "seed"]
    dbt_command(["build", *marts, "--target-path", target], warehouse_dsn)
    # `observatory up` on the local cluster: bi_reader's login, whose password the test database shares (roles are
    # the cluster's)
    local = {name: value for name, value in os.environ.items() if name != connection.DSN_ENV}
    subprocess.run([str(Path(sys.executable).parent / "observatory"), "up"], env=local, check=True, capture_output=True)
    password = connection.bi_password_file().read_text()
    parts = urlsplit(warehouse_dsn)
    reader = f"postgresql://{connection.BI_ROLE}:{quote(password, safe='')}@{parts.hostname}:{parts.port}{parts.path}"
    return {"dsn": warehouse_dsn, "reader": reader, "settings": settings, "target": target, "work": work}


def project_with_added_column(work: Path) -> Path:
    """A copy of the dbt project in which the scoreboard has one more, nullable, column (contract-compatible)."""
    last = "    end as rank_missing_reason\nfrom with_history\n"
    entry = "      - name: rank_missing_reason\n"
    edits = {
        "models/marts/indicators/mart_integration_scoreboard.sql": (
            last,
            f"    end as rank_missing_reason,\n    cast(null as text) as {ADDED_COLUMN}\nfrom with_history\n",
        ),
        "models/marts/indicators/_indicators__models.yml": (
            entry,
            f"      - name: {ADDED_COLUMN}\n        data_type: text\n{entry}",
        ),
    }
    return project_copy(work / "dbt_project_added_column", edits)


def test_bi_readers_see_no_downtime_while_the_marts_are_rebuilt(warehouse: dict) -> None:
    dsn, target = warehouse["dsn"], warehouse["target"]
    states = [state(warehouse["reader"])]
    project = project_with_added_column(warehouse["work"])  # before the readers start: copying is not a step
    timings: dict[str, float] = {}

    def step(label: str, *args) -> None:
        started = time.monotonic()
        dbt_command(*args)
        timings[label] = round(time.monotonic() - started, 1)
        states.append(state(dsn))

    with Readers(warehouse["reader"]) as readers:
        time.sleep(1)
        step("full build", ["build", "--select", "path:models/marts", "--full-refresh", "--target-path", target], dsn)
        assert pipeline.run_source(NEW_SOURCE, DAY, warehouse["settings"]) > 0
        step("incremental run", ["run", "--select", "fct_indicator_observation", "--target-path", target], dsn)
        project_target = str(project / "target")
        step(
            "added column",
            ["run", "--select", "mart_integration_scoreboard", "--target-path", project_target],
            dsn,
            project,
        )
        time.sleep(1)

    assert states[2]["observations"] != states[1]["observations"]  # the new source is in the fact mart
    assert ADDED_COLUMN in states[3]["scoreboard"][0] and ADDED_COLUMN not in states[2]["scoreboard"][0]
    kinds = Counter(kind for kind, _, _ in readers.answers)
    assert min(kinds.values()) > 20 and len(kinds) == 3, (kinds, timings)
    failed = Counter((kind, name, answer) for kind, name, answer in readers.answers if isinstance(answer, str))
    assert failed == Counter(), timings
    unknown = [
        (kind, name) for kind, name, answer in readers.answers if answer not in {known[name] for known in states}
    ]
    assert unknown == []
