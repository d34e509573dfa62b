"""The built marts have exactly the columns of their contracts (dbt_project/contracts/marts.json): names in order,
types, NOT NULL where promised, after a first build and after an incremental run; and dbt refuses to build a mart
whose SQL no longer matches its contract, naming the column."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from observatory import pipeline
from observatory.config.settings import Settings
from observatory_dev.docs_site import dbt_command
from observatory_dev.mart_contracts import project_copy, read_snapshot

pytestmark = pytest.mark.integration

DAY = datetime(2026, 4, 1, tzinfo=UTC)
MARTS = ["--select", "+path:models/marts", "--resource-type", "model", "--resource-type", "seed"]


@pytest.fixture(scope="module")
def built(warehouse_dsn: str, sample_base_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Every mart built from one source (the tables' types do not depend on their rows), then an incremental run
    of the incremental mart."""
    work = tmp_path_factory.mktemp("mart_contracts")
    settings = Settings.from_env().replace(landing_dir=work / "landing")
    assert pipeline.run_source("eurostat_lfsa_ergan", DAY, settings) > 0
    dbt_command(["build", *MARTS, "--target-path", str(work / "target")], warehouse_dsn)
    dbt_command(["run", "--select", "fct_indicator_observation", "--target-path", str(work / "target")], warehouse_dsn)
    return warehouse_dsn


def table_columns(conn: psycopg.Connection, relation: str) -> list[dict]:
    """The table's columns in the contract's terms: name, type as the contract writes it, NOT NULL."""
    rows = conn.execute(
        """select column_name, data_type, udt_name, numeric_precision, numeric_scale, is_nullable = 'NO'
           from information_schema.columns where table_schema = 'marts' and table_name = %s
           order by ordinal_position""",
        (relation,),
    ).fetchall()
    columns = []
    for name, data_type, udt_name, precision, scale, not_null in rows:
        if data_type == "ARRAY":
            data_type = f"{udt_name.lstrip('_')}[]"
        elif data_type == "numeric" and precision is not None:
            data_type = f"numeric({precision},{scale})"
        columns.append({"name": name, "data_type": data_type, "not_null": not_null})
    return columns


def test_every_built_mart_has_the_columns_of_its_contract(built: str) -> None:
    contracts = read_snapshot(Settings.from_env())
    differences = []
    with psycopg.connect(built) as conn:
        for relation, contract in contracts.items():
            built_columns = table_columns(conn, relation)
            if built_columns != contract["columns"]:
                expected = {c["name"]: c for c in contract["columns"]}
                found = {c["name"]: c for c in built_columns}
                differences += [
                    f"{relation}.{name}: contract {expected.get(name)}, table {found.get(name)}"
                    for name in dict.fromkeys([*expected, *found])
                    if expected.get(name) != found.get(name)
                ] or [f"{relation}: columns in another order"]
    assert len(contracts) == 14 and differences == []


def test_dbt_refuses_a_mart_whose_sql_differs_from_its_contract(built: str, tmp_path: Path) -> None:
    """A copy of the project whose contract says dim_period.period_year is text (the SQL returns an integer)."""
    declared = "      - name: period_year\n        data_type: integer\n"
    edit = (declared, declared.replace("integer", "text"))
    project = project_copy(tmp_path / "dbt_project", {"models/marts/indicators/_indicators__models.yml": edit})
    result = dbt_command(
        ["run", "--select", "dim_period", "--target-path", str(tmp_path / "target")], built, project, check=False
    )
    assert result.returncode == 1
    assert "This model has an enforced contract that failed" in result.stdout
    assert "| period_year " in result.stdout and "data type mismatch" in result.stdout
    with psycopg.connect(built) as conn:  # the mart as it was
        assert table_columns(conn, "dim_period")[2] == {
            "name": "period_year",
            "data_type": "integer",
            "not_null": False,
        }
