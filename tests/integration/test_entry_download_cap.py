"""A registry entry's own download cap (``max_download_bytes``): it replaces ``OBSERVATORY_MAX_DOWNLOAD_BYTES`` for
that entry's download and for what its landed gzip may inflate to when staged, so one large dataset can be
allowed without lifting the cap of every other entry; bad values are refused at registry load."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from observatory import pipeline
from observatory.collect.http import FetchError, download_cap, max_bytes
from observatory.config.registry import RegistryError, load_registry
from observatory.config.settings import Settings
from observatory.parse import ParseError
from observatory.parse.compression import decompressed
from observatory_dev.sample_server import serve_directory

pytestmark = pytest.mark.integration

DAY = datetime(2026, 11, 3, tzinfo=UTC)
SAMPLE = "estat_lfsa_ergan_filtered.tsv"  # the real lfsa_ergan download, 42 kB decoded
SETTING_CAP = 10_000  # what OBSERVATORY_MAX_DOWNLOAD_BYTES allows every entry in this test


def registry(tmp_path: Path, url: str, **entries: dict) -> Settings:
    """A registry of TSV entries at ``url`` (each with its extra fields), and settings that read it."""
    base = {
        "kind": "indicators",
        "format": "eurostat_tsv",
        "description": "download cap probe",
        "publisher": "tests",
        "suite": "eurostat_rates",
        "parse": {"dataset_code": "lfsa_ergan"},
        "urls": [url],
        "freshness": {"warn_after_hours": 1, "error_after_hours": 2},
    }
    path = tmp_path / "sources.yml"
    document = {"sources": {name: {**base, **fields} for name, fields in entries.items()}}
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return Settings.from_env().replace(registry_path=path, landing_dir=tmp_path / "landing")


@pytest.fixture()
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The real TSV, gzipped, on 127.0.0.1, with a setting cap below its decoded size."""
    monkeypatch.setenv("OBSERVATORY_MAX_DOWNLOAD_BYTES", str(SETTING_CAP))
    monkeypatch.setenv("OBSERVATORY_HTTP_RETRIES", "0")
    monkeypatch.delenv("OBSERVATORY_MIRROR_URL", raising=False)
    payload = (Settings.from_env().sample_data_dir / "eurostat" / SAMPLE).read_bytes()
    directory = tmp_path / "served"
    directory.mkdir()
    (directory / "lfsa_ergan.tsv.gz").write_bytes(gzip.compress(payload))
    server, base_url = serve_directory(directory)
    yield f"{base_url}/lfsa_ergan.tsv.gz", len(payload)
    server.shutdown()


def test_an_entry_cap_admits_its_large_file_and_the_setting_still_bounds_the_others(
    warehouse_dsn: str, tmp_path: Path, served: tuple[str, int]
) -> None:
    url, size = served
    settings = registry(
        tmp_path,
        url,
        cap_large={"max_download_bytes": 1_000_000},
        cap_default={},
        cap_small={"max_download_bytes": 500},
    )
    # the gzip is smaller than the setting's cap, so it lands; staging inflates it past 10 kB: refused
    with pytest.raises(ParseError, match=f"more than {SETTING_CAP}"):
        pipeline.run_source("cap_default", DAY, settings)
    rows = pipeline.run_source("cap_large", DAY, settings)
    assert rows > 100
    with pytest.raises(FetchError, match="500"):  # the download itself is over the small entry's cap
        pipeline.run_source("cap_small", DAY, settings)
    assert max_bytes() == SETTING_CAP  # nothing leaks out of the pipeline's steps
    assert size > SETTING_CAP


def test_download_cap_applies_inside_its_block_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OBSERVATORY_MAX_DOWNLOAD_BYTES", "1000")
    bomb = gzip.compress(b"0" * 5000)
    with download_cap(10_000):
        assert max_bytes() == 10_000 and decompressed(bomb) == b"0" * 5000
        with download_cap(None):
            assert max_bytes() == 1000
    with pytest.raises(ParseError, match="more than 1000"):
        decompressed(bomb)


@pytest.mark.parametrize("value", [0, -1, True, 1.5, "2GiB"])
def test_a_bad_entry_cap_is_refused_naming_the_field(tmp_path: Path, value: object) -> None:
    settings = registry(tmp_path, "https://stats.example.org/x.tsv", probe={"max_download_bytes": value})
    with pytest.raises(RegistryError, match="field 'max_download_bytes'"):
        load_registry(settings=settings)
