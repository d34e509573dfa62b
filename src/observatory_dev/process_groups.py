"""Processes started in groups of their own (``start_new_session``), and the groups their children open
(Airflow's task supervisor gives each task process one): stop them, kill them, tell whether any still runs. Used
by the local stack, the Celery harness and Superset's start and stop."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable

import psutil


def process_tree(pid: int) -> list[psutil.Process]:
    """Process ``pid`` and all its descendants (empty when it is gone)."""
    try:
        leader = psutil.Process(pid)
        return [leader, *leader.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def kill_tree(pid: int) -> list[int]:
    """SIGKILL every process group of ``pid``'s process tree at once: its own and those its descendants started;
    returns the groups killed."""
    groups = set()
    for process in process_tree(pid):
        with contextlib.suppress(ProcessLookupError):
            groups.add(os.getpgid(process.pid))
    for pgid in sorted(groups):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
    return sorted(groups)


def stop_group(pgid: int, term_wait: float, while_waiting: Callable[[], object] | None = None) -> None:
    """SIGTERM to process group ``pgid``, ``term_wait`` seconds for it to end, then SIGKILL (5 s more);
    ``while_waiting`` is called between checks (e.g. to reap our own child)."""
    for sig, wait in ((signal.SIGTERM, term_wait), (signal.SIGKILL, 5)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and group_alive(pgid):
            if while_waiting is not None:
                while_waiting()
            time.sleep(0.2)


def group_alive(pgid: int) -> bool:
    """Whether any process of group ``pgid`` still runs (zombies of our own children excepted)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    for proc in psutil.process_iter(["status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                return True
        except (ProcessLookupError, psutil.Error):
            continue
    return False
