"""``make browser``: Debian's ``chromium`` for the browser tests, never a browser download (``playwright install``
cannot work here: only PyPI, Debian and npm are reachable).

As root it is ``apt-get install chromium`` (``/usr/bin/chromium``). As an ordinary user without sudo the same Debian
packages are fetched with ``apt-get download`` (package lists and cache in ``.local/browser/apt``, not the system's)
and unpacked with ``dpkg -x`` into ``.local/browser/root``: chromium and chromium-common always, and whatever
else apt would install with them here (``apt-get --simulate``); the browser then runs from
``.local/browser/root/usr/lib/chromium/chromium`` with ``LD_LIBRARY_PATH`` pointing at the unpacked libraries.
``launch_options`` gives Playwright the executable, that environment and the flags that keep Chromium off the
network (no background requests, no component updates).

    python -m observatory_dev.browser [--user]    # --user: the ordinary-user way even as root or with chromium present
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from observatory.config.settings import Settings

SYSTEM_CHROMIUM = Path("/usr/bin/chromium")
PACKAGES = ("chromium", "chromium-common")
# Headless without a sandbox (root, containers), and nothing that would call out to the internet.
FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


class BrowserError(RuntimeError):
    """No Chromium, and it could not be installed."""


@dataclass(frozen=True)
class Chromium:
    executable: Path
    env: dict[str, str] = field(default_factory=dict)  # extra environment (LD_LIBRARY_PATH) for an unpacked one

    def version(self) -> str:
        result = subprocess.run(
            [str(self.executable), "--version"], env={**os.environ, **self.env}, capture_output=True, text=True
        )
        return result.stdout.strip() or result.stderr.strip()


def local_root(settings: Settings) -> Path:
    return settings.local_dir / "browser" / "root"


def unpacked(settings: Settings) -> Chromium | None:
    """The user-level Chromium under ``.local/browser/root``, if it was unpacked there."""
    root = local_root(settings)
    executable = root / "usr" / "lib" / "chromium" / "chromium"
    if not executable.exists():
        return None
    libraries = [*sorted(root.glob("usr/lib/*-linux-gnu")), *sorted(root.glob("lib/*-linux-gnu")), executable.parent]
    inherited = [os.environ["LD_LIBRARY_PATH"]] if os.environ.get("LD_LIBRARY_PATH") else []
    return Chromium(executable, {"LD_LIBRARY_PATH": os.pathsep.join([*map(str, libraries), *inherited])})


def find_chromium(settings: Settings) -> Chromium | None:
    """Debian's Chromium: the system's (``/usr/bin/chromium``) first, else the one unpacked under ``.local``."""
    return Chromium(SYSTEM_CHROMIUM) if SYSTEM_CHROMIUM.exists() else unpacked(settings)


def launch_options(settings: Settings | None = None) -> dict[str, Any]:
    """Keyword arguments for Playwright's ``chromium.launch``; ``BrowserError`` when ``make browser`` has not run."""
    chromium = find_chromium(settings or Settings.from_env())
    if chromium is None:
        raise BrowserError("no Chromium: run `make browser` (Debian's chromium package)")
    options: dict[str, Any] = {"executable_path": str(chromium.executable), "args": list(FLAGS), "headless": True}
    if chromium.env:
        options["env"] = {**os.environ, **chromium.env}
    return options


def run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise BrowserError(f"{' '.join(args[:3])} failed: {(result.stderr or result.stdout)[-2000:]}")
    return result


def install_as_root() -> Chromium:
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *PACKAGES]
    if subprocess.run(command, capture_output=True, env=environment).returncode != 0:  # no package lists yet
        run(["apt-get", "update", "-qq"], env=environment)
        run(command, env=environment)
    return Chromium(SYSTEM_CHROMIUM)


def apt_options(settings: Settings) -> list[str]:
    """apt with its package lists and download cache in ``.local/browser/apt`` (user-writable), no locking."""
    apt_dir = settings.local_dir / "browser" / "apt"
    for folder in (apt_dir / "lists" / "partial", apt_dir / "cache" / "archives" / "partial"):
        folder.mkdir(parents=True, exist_ok=True)
    return [
        "-o", f"Dir::State::Lists={apt_dir / 'lists'}",
        "-o", f"Dir::Cache={apt_dir / 'cache'}",
        "-o", "Debug::NoLocking=1",
    ]  # fmt: skip


def missing_packages(options: list[str]) -> list[str]:
    """chromium, chromium-common and what apt would install with them on this system (no recommends): the
    packages of ``apt-get --simulate install``, which needs no root."""
    plan = run(["apt-get", *options, "--simulate", "--no-install-recommends", "install", *PACKAGES]).stdout
    planned = re.findall(r"^Inst (\S+)", plan, flags=re.M)
    return [*PACKAGES, *(name for name in planned if name not in PACKAGES)]


def install_as_user(settings: Settings) -> Chromium:
    """Download chromium and the dependencies the system lacks, and unpack them under ``.local/browser/root``."""
    options = apt_options(settings)
    run(["apt-get", *options, "update", "-qq"])
    debs = settings.local_dir / "browser" / "debs"
    shutil.rmtree(debs, ignore_errors=True)
    debs.mkdir(parents=True)
    run(["apt-get", *options, "download", "-qq", *missing_packages(options)], cwd=debs)
    root = local_root(settings)
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    for deb in sorted(debs.glob("*.deb")):
        run(["dpkg", "-x", str(deb), str(root)])
    chromium = unpacked(settings)
    if chromium is None:
        raise BrowserError(f"chromium was unpacked into {root} but its executable is missing")
    return chromium


def install(settings: Settings, *, user: bool = False) -> Chromium:
    """Chromium for the tests: the one found, else installed as root (apt) or as this user (``.local``)."""
    found = unpacked(settings) if user else find_chromium(settings)
    if found is not None:
        return found
    return install_as_user(settings) if user or os.geteuid() != 0 else install_as_root()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m observatory_dev.browser", description=__doc__.split("\n")[0])
    parser.add_argument("--user", action="store_true", help="unpack into .local even as root or with chromium present")
    args = parser.parse_args(argv)
    chromium = install(Settings.from_env(), user=args.user)
    version = chromium.version()
    if not version.startswith("Chromium"):
        raise BrowserError(f"{chromium.executable} does not run: {version}")
    print(f"browser: {version} at {chromium.executable}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
