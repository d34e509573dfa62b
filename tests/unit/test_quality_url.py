"""GX reaches a stage table through the session's search path, set in the connection URL."""

from __future__ import annotations

import pytest

from observatory.quality.gate import sqlalchemy_url, with_search_path


def test_search_path_is_added_to_the_url() -> None:
    url = sqlalchemy_url("postgresql://reader@127.0.0.1:5432/db")
    assert (
        with_search_path(url, "stage") == "postgresql+psycopg://reader@127.0.0.1:5432/db?options=-csearch_path%3Dstage"
    )
    assert with_search_path(url + "?sslmode=require", "raw").endswith("?sslmode=require&options=-csearch_path%3Draw")


@pytest.mark.parametrize("schema", ["stage,public", "Stage", "stage; drop table x", ""])
def test_only_plain_schema_names_are_accepted(schema: str) -> None:
    with pytest.raises(ValueError, match="not a plain schema name"):
        with_search_path("postgresql+psycopg://u@h/db", schema)


def test_session_settings_follow_the_search_path() -> None:
    url = with_search_path("postgresql+psycopg://u@h/db", "stage", {"max_parallel_workers_per_gather": "0"})
    assert url == "postgresql+psycopg://u@h/db?options=-csearch_path%3Dstage%20-cmax_parallel_workers_per_gather%3D0"


@pytest.mark.parametrize("setting", [{"work_mem": "1GB -crole=postgres"}, {"Work-Mem": "4MB"}, {"work_mem": ""}])
def test_only_plain_session_settings_are_accepted(setting: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="not a plain session setting"):
        with_search_path("postgresql+psycopg://u@h/db", "stage", setting)
