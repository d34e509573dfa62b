"""dbt "slim CI": build only the models changed since a git ref, and everything downstream of them.

The reference manifest is not committed (it would go stale and conflict on every merge). It is derived on demand:
``git archive <ref> dbt_project`` (read-only: no checkout, no change to the working tree or the index) is parsed
with ``dbt parse`` into ``.local/dbt-state/manifest.json``. Then
``dbt build --select state:modified+ --state .local/dbt-state`` compares the working tree with it.

- On a laptop, ``make test-changed`` compares with ``HEAD``: what you have changed and not yet committed.
- In CI, ``make test-changed REF=origin/main`` (fetch enough history for that ref): what the branch changes.

Unchanged parents are read from the warehouse in use, so run it where the marts have been built (after
``make demo``, or against the CI database after ``make test``).
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from observatory.config.settings import Settings
from observatory_dev.docs_site import dbt_command

SELECTOR = "state:modified+"


def default_state_dir() -> Path:
    return Settings.from_env().local_dir / "dbt-state"


def export_project(ref: str, destination: Path, repository: Path | None = None) -> Path:
    """The ``dbt_project`` folder as committed at ``ref`` in ``repository`` (default: the project), extracted under
    ``destination``."""
    repository = repository or Settings.from_env().project_root
    archive = subprocess.run(
        ["git", "-C", str(repository), "archive", "--format=tar", ref, "dbt_project"], capture_output=True
    )
    if archive.returncode != 0:
        raise RuntimeError(f"git archive {ref} dbt_project: {archive.stderr.decode(errors='replace').strip()}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4
            tar.extractall(destination, filter="data")
        else:  # Debian's 3.11.2: keep to what the data filter allows of a git archive, plain files and folders
            members = [
                member
                for member in tar.getmembers()
                if (member.isfile() or member.isdir())
                and not member.name.startswith("/")
                and ".." not in Path(member.name).parts
            ]
            tar.extractall(destination, members=members)
    return destination / "dbt_project"


def parse_manifest(project_dir: Path, state_dir: Path, conninfo: str) -> Path:
    """``dbt parse`` of ``project_dir``; its manifest copied to ``state_dir/manifest.json``."""
    with tempfile.TemporaryDirectory(prefix="dbt-state-") as tmp:
        dbt_command(["parse", "--target-path", tmp], conninfo, project_dir)
        state_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy2(Path(tmp) / "manifest.json", state_dir / "manifest.json")
    return state_dir / "manifest.json"


def save_state(ref: str, conninfo: str, state_dir: Path | None = None, repository: Path | None = None) -> Path:
    """The reference manifest for ``ref``; also records the commit it came from in ``state_dir/REF``."""
    state_dir = state_dir or default_state_dir()
    repository = repository or Settings.from_env().project_root
    commit = subprocess.run(
        ["git", "-C", str(repository), "rev-parse", "--verify", f"{ref}^{{commit}}"], capture_output=True, text=True
    )
    if commit.returncode != 0:
        raise RuntimeError(f"unknown git ref {ref!r}: {commit.stderr.strip()}")
    with tempfile.TemporaryDirectory(prefix="dbt-ref-") as tmp:
        manifest = parse_manifest(export_project(ref, Path(tmp), repository), state_dir, conninfo)
    (state_dir / "REF").write_text(f"{ref} {commit.stdout.strip()}\n")
    return manifest


def modified_nodes(
    conninfo: str, project_dir: Path | None = None, state_dir: Path | None = None, selector: str = SELECTOR
) -> set[str]:
    """Unique ids of the nodes ``selector`` picks against the reference manifest (``dbt ls``)."""
    state_dir = state_dir or default_state_dir()
    with tempfile.TemporaryDirectory(prefix="dbt-ls-") as tmp:
        result = dbt_command(
            [
                "ls",
                "--select",
                selector,
                "--state",
                str(state_dir),
                "--output",
                "json",
                "--output-keys",
                "unique_id",
                "--target-path",
                tmp,
                "--quiet",
            ],
            conninfo,
            project_dir,
        )
    return {json.loads(line)["unique_id"] for line in result.stdout.splitlines() if line.startswith("{")}


def build_modified(
    conninfo: str, project_dir: Path | None = None, state_dir: Path | None = None, selector: str = SELECTOR
) -> str:
    """``dbt build`` of the modified nodes and their descendants; returns dbt's output."""
    state_dir = state_dir or default_state_dir()
    with tempfile.TemporaryDirectory(prefix="dbt-build-") as tmp:
        return dbt_command(
            ["build", "--select", selector, "--state", str(state_dir), "--target-path", tmp],
            conninfo,
            project_dir,
            timeout=3600,
        ).stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m observatory_dev.slim_ci", description=__doc__.split("\n")[0])
    parser.add_argument(
        "command",
        choices=["save", "list", "build"],
        help="save: the reference manifest only; list: what would be built; build: build it",
    )
    parser.add_argument("--ref", default="HEAD", help="git ref to compare with (default HEAD)")
    args = parser.parse_args(argv)
    from observatory.warehouse.bootstrap import ensure_warehouse
    from observatory_dev.docs_site import DocsBuildFailed

    conninfo = ensure_warehouse()
    try:
        manifest = save_state(args.ref, conninfo)
        print(f"reference manifest {manifest} ({(default_state_dir() / 'REF').read_text().strip()})")
        if args.command == "list":
            print("\n".join(sorted(modified_nodes(conninfo))) or f"nothing changed since {args.ref}")
        elif args.command == "build":
            print(build_modified(conninfo))
    except (DocsBuildFailed, RuntimeError) as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
