"""The platform cases of the fault lab: what fails under and around the pipeline rather than in what it fetches
(the warehouse restarted mid-publish, the landing disk full, a backfill racing the scheduled run of the same
interval). Each is judged like the other cases (``observatory_dev.faults.lab``): at the end the day-2 rows are
published once each, and the case's check says what the fault left in between (rows changed, partial files,
the failing run's reason)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from observatory_dev.faults.cases import Check, FaultCase, Observation
from observatory_dev.faults.payloads import CSV, TSV, eurostat_tsv, funding_csv
from observatory_dev.faults.server import Reply

RESTARTED_THEN_LOADED = "publish cut by a warehouse restart, rerun loaded"
DBT_RESTARTED_THEN_BUILT = "dbt run cut by a warehouse restart, rerun built"
DBT_MODEL_FAILED_THEN_BUILT = "dbt run failed in one model, rerun built"
DISK_FULL_THEN_LOADED = "refused at fetch (disk full), retry loaded"
LATER_FETCH_KEPT = "later fetch published, earlier fetch refused"
PLATFORM_LOADED_OUTCOMES = frozenset(
    {
        RESTARTED_THEN_LOADED,
        DBT_RESTARTED_THEN_BUILT,
        DBT_MODEL_FAILED_THEN_BUILT,
        DISK_FULL_THEN_LOADED,
        LATER_FETCH_KEPT,
    }
)
PLATFORM_RUNS = frozenset(
    {"warehouse_restart_publish", "warehouse_restart_dbt", "dbt_model_fails", "disk_full", "backfill_vs_scheduled"}
)
BROKEN_MART = "fct_funding"


@dataclass(frozen=True)
class PlatformCase(FaultCase):
    """A fault case whose fault is the platform's; ``run``: ``warehouse_restart_publish``,
    ``warehouse_restart_dbt``, ``dbt_model_fails``, ``disk_full`` or ``backfill_vs_scheduled`` (see
    ``observatory_dev.faults.lab``). ``dedicated_cluster``: the case restarts PostgreSQL, so it runs on a cluster of
    its own (under the lab's workdir, on its own port), never the shared one. ``small_disk``: a full disk is a
    filled-up tmpfs where one can be mounted (as root), else writes refused with ENOSPC."""

    dedicated_cluster: bool = False
    small_disk: bool = True
    dbt_edit: tuple[str, str, str] | None = None  # the model broken in a copy of the dbt project: path, text, new
    dbt_cut_at: str = "START sql table model marts."  # the line of dbt's log at which the warehouse is restarted


def _noted(name: str, pattern: str) -> Check:
    """The note ``name`` (a run's error) matches ``pattern``."""

    def check(seen: Observation) -> list[str]:
        found = seen.notes.get(name) or ""
        return [] if re.search(pattern, found, re.IGNORECASE) else [f"{name}: {found!r} does not match {pattern!r}"]

    return check


def _all(*checks: Check) -> Check:
    return lambda seen: [problem for check in checks for problem in check(seen)]


def _untouched_by_the_fault(seen: Observation) -> list[str]:
    """Right after the fault the published rows were the baseline's, whole (nothing of the cut batch)."""
    changed = seen.notes.get("rows changed by the fault")
    return [] if changed == 0 else [f"right after the fault {changed} published rows differed from the baseline"]


def _no_partial_body(seen: Observation) -> list[str]:
    """Nothing of the refused download is left in the spool or at a content path."""
    left = seen.notes.get("files left by the refused fetch")
    return [] if left == [] else [f"files left by the refused fetch: {left}"]


def _batch_names_later_content(seen: Observation) -> list[str]:
    """audit.batch names the content whose rows are published (the later fetch's)."""
    recorded, wanted = (seen.batch or {}).get("content_sha256"), seen.notes.get("later content")
    return [] if recorded == [wanted] else [f"audit.batch.content_sha256 {recorded}, the later fetch was {wanted}"]


def _mart_states(seen: Observation) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """The marts' states before the day-2 batch, after the fault and after the rerun."""
    return seen.notes["marts before"], seen.notes["marts after the fault"], seen.notes["marts after the rerun"]


def _marts_kept_or_rebuilt(broken: str, dependants: frozenset[str]) -> Check:
    """After the failed run the ``broken`` mart and its ``dependants`` are as they were before the day-2 batch
    (and the broken one differs from what the rerun builds, so keeping it is seen); every other mart is what the
    rerun builds too (the failed run rebuilt it); none is missing."""

    def check(seen: Observation) -> list[str]:
        before, cut, rerun = _mart_states(seen)
        kept = sorted({broken, *dependants})
        others = sorted(set(before) - set(kept))
        missing = sorted(set(before) - set(cut))
        return (
            [f"marts missing after the failed run: {missing}"] * bool(missing)
            + [f"{name} changed by the failed run" for name in kept if cut.get(name) != before.get(name)]
            + [f"{broken}: the day-2 rows never reach it"] * (rerun.get(broken) == before.get(broken))
            + [f"{name} not rebuilt by the failed run" for name in others if cut.get(name) != rerun.get(name)]
        )

    return check


def _marts_old_or_new(seen: Observation) -> list[str]:
    """After the cut run every mart is there, as it was before or as the rerun builds it (never half-built); what
    else the cut left in ``marts`` (dbt's ``<model>__dbt_backup`` once a swap committed but its old table was not
    dropped yet) is gone after the rerun."""
    before, cut, rerun = _mart_states(seen)
    missing = sorted(set(before) - set(cut))
    torn = sorted(name for name in before if name in cut and cut[name] not in (before[name], rerun.get(name)))
    changing = [name for name in before if before[name] != rerun.get(name)]
    left = sorted(set(rerun) - set(before))
    return (
        [f"marts missing after the cut run: {missing}"] * bool(missing)
        + [f"marts neither old nor new after the cut run: {torn}"] * bool(torn)
        + ["the day-2 rows reach no mart: old and new states are the same"] * (not changing)
        + [f"relations left in marts after the rerun: {left}"] * bool(left)
    )


def _disk_full_case(name: str, fault: str, small_disk: bool) -> PlatformCase:
    return PlatformCase(
        name,
        fault,
        "eurostat_tsv",
        "/fault/lfsa_ergan.tsv",
        Reply(eurostat_tsv(geos=150), headers=TSV),
        (Reply(eurostat_tsv(geos=200, version=2), headers=TSV),),
        DISK_FULL_THEN_LOADED,
        run="disk_full",
        small_disk=small_disk,
        check=_all(
            _untouched_by_the_fault,
            _no_partial_body,
            _noted("refused run error", r"no space left on device"),
            _noted("batch message after the fault", r"fetch failed: .*no space left on device"),
        ),
    )


PLATFORM_CASES: tuple[FaultCase, ...] = (
    PlatformCase(
        "warehouse_restart_publish",
        "warehouse restarted (fast shutdown) while a batch is published",
        "eurostat_tsv",
        "/fault/lfsa_ergan.tsv",
        Reply(eurostat_tsv(geos=50), headers=TSV),
        (Reply(eurostat_tsv(geos=50, version=2), headers=TSV),),
        RESTARTED_THEN_LOADED,
        run="warehouse_restart_publish",
        dedicated_cluster=True,
        check=_all(
            _untouched_by_the_fault,
            _noted("cut run error", r"terminat|server closed|connection|shutdown"),
            _noted("batch after the fault", r"^(staged|fetched|failed)$"),
        ),
    ),
    PlatformCase(
        "warehouse_restart_dbt",
        "warehouse restarted (fast shutdown) while dbt builds the marts",
        "eurostat_tsv",
        "/fault/lfsa_ergan.tsv",
        Reply(eurostat_tsv(geos=50), headers=TSV),
        (Reply(eurostat_tsv(geos=50, version=2), headers=TSV),),
        DBT_RESTARTED_THEN_BUILT,
        run="warehouse_restart_dbt",
        dedicated_cluster=True,
        dbt_cut_at="START sql incremental model marts.fct_indicator_observation",  # the mart the day-2 rows change
        check=_all(_marts_old_or_new, _noted("dbt output", r"terminat|server closed|connection")),
    ),
    PlatformCase(
        "dbt_model_fails",
        f"dbt fails in one mart model ({BROKEN_MART}: SQL error in a copy of the project)",
        "funding_csv",
        "/fault/esf.csv",
        Reply(funding_csv(), headers=CSV),
        (Reply(funding_csv(version=2), headers=CSV),),
        DBT_MODEL_FAILED_THEN_BUILT,
        run="dbt_model_fails",
        dedicated_cluster=True,
        dbt_edit=(
            f"models/marts/funding/{BROKEN_MART}.sql",
            "on operations.source_id = registry_entries.source_id",
            "on operations.no_such_column = registry_entries.source_id",
        ),
        check=_all(
            _noted("dbt output", rf"Database Error in model {BROKEN_MART} \(models/marts/funding/{BROKEN_MART}\.sql\)"),
            _marts_kept_or_rebuilt(BROKEN_MART, frozenset({"mart_funding_overview"})),
        ),
    ),
    _disk_full_case(
        "landing_disk_full",
        "landing disk full during the download (a full tmpfs as root), retry after space returns",
        small_disk=True,
    ),
    _disk_full_case(
        "landing_disk_full_user",
        "landing disk full during the download (writes refused with ENOSPC, as any user), retry",
        small_disk=False,
    ),
    PlatformCase(
        "backfill_vs_scheduled",
        "a backfill (earlier content) and the scheduled run (later content) of one interval at once",
        "eurostat_tsv",
        "/fault/lfsa_ergan.tsv",
        Reply(eurostat_tsv(geos=50), headers=TSV),
        # the first day-2 request is the backfill's, the second the scheduled run's
        (Reply(eurostat_tsv(geos=50, version=2), headers=TSV), Reply(eurostat_tsv(geos=50, version=3), headers=TSV)),
        LATER_FETCH_KEPT,
        run="backfill_vs_scheduled",
        check=_all(_noted("backfill error", r"fetched again by another run"), _batch_names_later_content),
    ),
)
