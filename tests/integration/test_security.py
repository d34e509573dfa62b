"""Security: the read-only BI role, no secrets in the repository, SQL built with quoted identifiers only,
HTTP calls with timeouts, content-addressed landing, XML read safely."""

from __future__ import annotations

import ast
import hashlib
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import psycopg
import pytest
import yaml
from psycopg import errors, sql
from pytest_httpserver import HTTPServer

from observatory.warehouse import connection
from observatory.warehouse.bootstrap import BI_ROLE, ensure_warehouse_schema, set_bi_reader_password

PROJECT = Path(__file__).resolve().parents[2]
PYTHON_SOURCES = sorted([*PROJECT.glob("src/observatory/**/*.py"), *PROJECT.glob("dags/*.py")])


# --- the bi_reader role ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bi_reader_dsn(warehouse_dsn: str) -> Iterator[str]:
    """Log in as ``bi_reader`` over TCP on 127.0.0.1 with the password set by ``set_bi_reader_password``;
    the role's previous login state is restored afterwards (roles are shared by the cluster's databases).
    Probe tables are created in every schema, as the pipeline and dbt would create them."""
    with psycopg.connect(warehouse_dsn) as conn:
        saved = conn.execute("select rolcanlogin, rolpassword from pg_authid where rolname = %s", (BI_ROLE,)).fetchone()
        for schema in ("marts", "stage", "quarantine"):
            conn.execute(
                sql.SQL("create table if not exists {}.security_probe (city text)").format(sql.Identifier(schema))
            )
            conn.execute(sql.SQL("insert into {}.security_probe values ('Vienna')").format(sql.Identifier(schema)))
        conn.commit()
        # the local login's own password when there is one: a fresh one would lock out every other reader
        # (Superset, `observatory dsn --reader`) of the cluster-wide role while the tests run
        saved_password = connection.bi_password_file()
        password = saved_password.read_text().strip() if saved_password.exists() else secrets.token_urlsafe(24)
        set_bi_reader_password(conn, password)
    parts = urlsplit(warehouse_dsn)
    yield f"postgresql://{BI_ROLE}:{quote(password, safe='')}@127.0.0.1:{parts.port}{parts.path}"
    with psycopg.connect(warehouse_dsn, autocommit=True) as conn:
        can_login, verifier = saved if saved else (False, None)
        conn.execute(
            sql.SQL("alter role {} with {} password {}").format(
                sql.Identifier(BI_ROLE), sql.SQL("login" if can_login else "nologin"), sql.Literal(verifier)
            )
        )


def as_bi_reader(dsn: str, statement: str) -> list[tuple]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(statement).fetchall()


def test_bi_reader_logs_in_over_tcp_and_reads_the_marts(bi_reader_dsn: str) -> None:
    assert as_bi_reader(bi_reader_dsn, "select city from marts.security_probe") == [("Vienna",)]
    [(user, address)] = as_bi_reader(bi_reader_dsn, "select current_user, host(inet_server_addr())")
    assert (user, address) == (BI_ROLE, "127.0.0.1")


def test_bi_reader_needs_its_password(bi_reader_dsn: str) -> None:
    wrong = bi_reader_dsn.replace(f"{BI_ROLE}:", f"{BI_ROLE}:not-", 1)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong).close()


@pytest.mark.parametrize(
    "relation",
    [
        "raw.eurostat_observation",
        "raw.funding_operation",
        "audit.batch",
        "audit.fetch_log",
        "audit.validation_result",
        "stage.security_probe",
        "quarantine.security_probe",
    ],
)
def test_bi_reader_cannot_read_outside_the_marts(bi_reader_dsn: str, relation: str) -> None:
    with pytest.raises(errors.InsufficientPrivilege, match="permission denied"):
        as_bi_reader(bi_reader_dsn, f"select * from {relation} limit 1")


@pytest.mark.parametrize(
    "statement",
    [
        "insert into marts.security_probe values ('Graz')",
        "update marts.security_probe set city = 'Graz'",
        "delete from marts.security_probe",
        "truncate marts.security_probe",
        "create table marts.bi_copy (city text)",
        "create view marts.bi_view as select 1 as one",
        "create table public.bi_copy (city text)",
        "create table raw.bi_copy (city text)",
        "create temporary table bi_copy (city text)",
        "create schema bi_scratch",
        "select lo_create(0)",
        "select lo_from_bytea(0, 'x')",
        "alter table marts.security_probe add column rank integer",
        "drop table marts.security_probe",
    ],
)
def test_bi_reader_cannot_write_anything_anywhere(bi_reader_dsn: str, statement: str) -> None:
    with pytest.raises(errors.InsufficientPrivilege):
        as_bi_reader(bi_reader_dsn, statement)
    assert as_bi_reader(bi_reader_dsn, "select count(*) from marts.security_probe") == [(1,)]


def test_bi_reader_has_no_role_attributes_or_memberships(warehouse_dsn: str) -> None:
    with psycopg.connect(warehouse_dsn) as conn:
        attributes = conn.execute(
            """select rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls,
                      (select count(*) from pg_auth_members where member = r.oid)
               from pg_roles r where rolname = %s""",
            (BI_ROLE,),
        ).fetchone()
    assert attributes == (False, False, False, False, False, 0)


def test_the_bi_password_comes_from_the_environment_and_is_stored_hashed(
    bi_reader_dsn: str, warehouse_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Set again from the environment (the same password, so the module's login stays valid): a new salted
    SCRAM verifier is stored, never the password."""
    password = unquote(urlsplit(bi_reader_dsn).password or "")
    monkeypatch.setenv("OBSERVATORY_BI_READER_PASSWORD", password)
    with psycopg.connect(warehouse_dsn) as conn:
        before = conn.execute("select rolpassword from pg_authid where rolname = %s", (BI_ROLE,)).fetchone()[0]
        set_bi_reader_password(conn)
        after = conn.execute("select rolpassword from pg_authid where rolname = %s", (BI_ROLE,)).fetchone()[0]
    assert after != before and after.startswith("SCRAM-SHA-256$4096:") and password not in after
    assert as_bi_reader(bi_reader_dsn, "select count(*) from marts.security_probe") == [(1,)]


@pytest.mark.parametrize("password", [None, "", "too-short"])
def test_a_missing_or_short_bi_password_is_refused(
    warehouse_dsn: str, monkeypatch: pytest.MonkeyPatch, password: str | None
) -> None:
    monkeypatch.delenv("OBSERVATORY_BI_READER_PASSWORD", raising=False)
    if password is not None:
        monkeypatch.setenv("OBSERVATORY_BI_READER_PASSWORD", password)
    with psycopg.connect(warehouse_dsn) as conn, pytest.raises(ValueError, match="OBSERVATORY_BI_READER_PASSWORD"):
        set_bi_reader_password(conn)


def test_bootstrap_runs_again_from_several_processes_at_once(warehouse_dsn: str) -> None:
    """Concurrent GRANTs on one object fail in PostgreSQL ("tuple concurrently updated") unless serialised."""
    code = (
        "import os, psycopg; from observatory.warehouse.bootstrap import ensure_warehouse_schema\n"
        "with psycopg.connect(os.environ['OBSERVATORY_WAREHOUSE_DSN']) as conn:\n"
        "    [ensure_warehouse_schema(conn) for _ in range(5)]\n"
    )
    runs = [
        subprocess.Popen([sys.executable, "-c", code], cwd=PROJECT, stderr=subprocess.PIPE, text=True) for _ in range(4)
    ]
    failures = [run.stderr.read() for run in runs if run.wait(timeout=120) != 0]
    assert failures == []
    with psycopg.connect(warehouse_dsn) as conn:
        ensure_warehouse_schema(conn)


# --- no secret in the repository ---------------------------------------------------------------------------

SECRET_PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    "password assignment": re.compile(
        r"""(?i)\b\w*(?:password|passwd|secret|api_?key|token)\w*["']?\s*[:=]\s*["']([^"'\s]{8,})["']"""
    ),
    "password in a URL": re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s:/@'\"]+:([^\s@/'\"]+)@"),
}
# Values that are references or placeholders, not secrets: ${VAR}, {{ env_var(...) }}, VARIABLE_NAMES, and
# the words placeholders are made of.
PLACEHOLDER = re.compile(
    r"^\$\{.*\}$|^\{\{.*\}\}$|(?-i:^[A-Z][A-Z0-9_]+$)|change-?me|example|secret|dummy|placeholder"
    r"|redacted|\*\*\*|<[^>]*>|^x+$",
    re.IGNORECASE,
)


def secrets_in(text: str) -> list[str]:
    """What in ``text`` looks like a committed secret (pattern name and match)."""
    found = []
    for name, pattern in SECRET_PATTERNS.items():
        for match in pattern.finditer(text):
            value = match.group(1) if pattern.groups else match.group(0)
            if not (pattern.groups and PLACEHOLDER.search(value)):
                found.append(f"{name}: {match.group(0)[:60]}")
    return found


def repository_files() -> list[Path]:
    """Tracked files plus new files not ignored (what the next commit could contain)."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=PROJECT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    return [PROJECT / name for name in listed if name and (PROJECT / name).is_file()]


def test_the_scanner_recognises_secrets_and_placeholders() -> None:
    planted = {
        "private key": "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIEow",
        "AWS access key": "aws_key = " + "AKIA" + "IOSFODNN7ABCDEFG",
        "password assignment": 'DB_PASSWORD = "' + "k9#Lw2vQ" + 'pZ"',
        "password in a URL": "postgresql://observatory:" + "S3cr4tPw" + "@db:5432/observatory",
    }
    for kind, text in planted.items():
        assert [hit.split(":")[0] for hit in secrets_in(text)] == [kind], text
    for harmless in [
        "password: \"{{ env_var('OBSERVATORY_DB_PASSWORD') }}\"",
        "postgresql://u:${DB_PASSWORD}@h/d",
        "postgresql://observatory:change-me@warehouse:5432/db",
        'ENV = "OBSERVATORY_BI_READER_PASSWORD"',
    ]:
        assert secrets_in(harmless) == [], harmless


def test_no_secret_is_committed() -> None:
    files = repository_files()
    assert len(files) > 100 and PROJECT / "sources.yml" in files
    found = [
        f"{path.relative_to(PROJECT)}: {hit}"
        for path in files
        if b"\0" not in (data := path.read_bytes())[:8192]
        for hit in secrets_in(data.decode("utf-8", "replace"))
    ]
    assert found == []


@pytest.mark.parametrize(
    "path",
    [
        ".env",
        ".local/postgres/password",
        ".local/airflow/airflow.cfg",
        ".local/airflow/simple_auth_manager_passwords.json.generated",
    ],
)
def test_files_that_hold_secrets_are_ignored_by_git(path: str) -> None:
    assert subprocess.run(["git", "check-ignore", "-q", path], cwd=PROJECT).returncode == 0, f"{path} is not ignored"


# --- code audits -------------------------------------------------------------------------------------------


def _string_built(node: ast.expr) -> bool:
    """An f-string with values, a ``%``/``+`` expression or ``"...".format(...)``: SQL built as text."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(value, ast.FormattedValue) for value in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        return True
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
        and isinstance(node.func.value, ast.Constant | ast.JoinedStr)
    )


def string_built_sql(tree: ast.AST) -> list[str]:
    """Calls that send SQL (``execute``, ``executemany``, ``copy``, ``sql.SQL``) built as text."""
    return [
        f"line {node.lineno}: {ast.unparse(node)[:100]}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and node.args
        and _string_built(node.args[0])
        and (node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None))
        in {"execute", "executemany", "copy", "SQL"}
    ]


def test_the_sql_audit_recognises_text_built_sql() -> None:
    tree = ast.parse(
        'conn.execute(f"select * from raw.{table}")\ncur.copy("copy %s from stdin" % table)\n'
        'sql.SQL("drop table {}".format(name))\nconn.execute(sql.SQL("select {}").format(x))\n'
        'conn.execute("select 1 where a = %s", (a,))\n'
    )
    assert [hit.split(":")[0] for hit in string_built_sql(tree)] == ["line 1", "line 2", "line 3"]


def test_sql_identifiers_are_never_built_as_text() -> None:
    """Identifiers from configuration (source ids, load ids, table names) go through psycopg.sql only."""
    found = [
        f"{path.relative_to(PROJECT)} {hit}"
        for path in PYTHON_SOURCES
        for hit in string_built_sql(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert len(PYTHON_SOURCES) > 30 and found == []


def test_every_http_call_has_a_timeout() -> None:
    calls = []
    for path in PYTHON_SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"get", "post", "put", "patch", "delete", "head", "request", "urlopen"}
                and re.fullmatch(r"requests|urllib\.request|\w*session", ast.unparse(node.func.value))
            ):
                calls.append((path.relative_to(PROJECT), node.lineno, any(k.arg == "timeout" for k in node.keywords)))
    assert len(calls) >= 3
    assert [call for call in calls if not call[2]] == []


XML_MODULES = re.compile(r"^(xml\.(etree|dom|sax|parsers)|lxml)(\.|$)")


def test_xml_is_never_read_with_the_standard_library_parsers() -> None:
    """XML goes through defusedxml (no DTD entities, no external references)."""
    imports = []
    for path in PYTHON_SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            imports += [f"{path.relative_to(PROJECT)}: {name}" for name in names if XML_MODULES.match(name)]
    assert imports == []


BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>\n'
    b'<rss version="2.0"><channel><title>City news &lol2;</title>'
    b"<item><title>&lol2;</title><link>http://127.0.0.1/report.txt</link></item></channel></rss>"
)


def test_a_feed_declaring_entities_is_refused(httpserver: HTTPServer) -> None:
    """feedparser reads feeds with the standard library's SAX parser (expat), which expands internal entities;
    feeds must be screened with defusedxml first, so a DTD entity (the seed of a billion-laughs bomb) is
    refused instead of expanded."""
    from observatory.collect.feed import fetch_feed_at
    from observatory.collect.http import FetchError, http_session

    httpserver.expect_request("/news.rss").respond_with_data(BILLION_LAUGHS, content_type="application/rss+xml")
    with http_session() as session, pytest.raises(FetchError, match="(?i)entit"):
        fetch_feed_at(session, httpserver.url_for("/news.rss"), PROJECT)


# --- the landing zone --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/../../etc/passwd", "/files/..%2F..%2Fetc%2Fpasswd"])
def test_landing_names_come_from_content_hashes(
    path: str, warehouse_dsn: str, httpserver: HTTPServer, tmp_path: Path
) -> None:
    """A URL that tries to climb out of the landing zone lands under landing/<source>/<sha[:2]>/<sha> like any
    other; nothing is written anywhere else."""
    from observatory import pipeline
    from observatory.config.settings import Settings

    payload = b"root:x:0:0:root:/root:/bin/bash\n"
    httpserver.expect_request(re.compile(r".*passwd$")).respond_with_data(payload, content_type="text/plain")
    registry = tmp_path / "config" / "sources.yml"
    registry.parent.mkdir()
    registry.write_text(
        yaml.safe_dump(
            {
                "sources": {
                    "traversal_probe": {
                        "kind": "reports",
                        "format": "document",
                        "suite": "report_document",
                        "description": "traversal probe",
                        "publisher": "tests",
                        "urls": [f"http://127.0.0.1:{httpserver.port}{path}"],
                        "freshness": {"warn_after_hours": 1, "error_after_hours": 2},
                    }
                }
            }
        )
    )
    landing = tmp_path / "zone" / "landing"
    settings = Settings.from_env().replace(registry_path=registry, landing_dir=landing)
    [landed] = pipeline.fetch("traversal_probe", datetime(2026, 7, 1, tzinfo=UTC), settings)
    digest = hashlib.sha256(payload).hexdigest()
    assert landed["content_sha256"] == digest and landed["resource_name"] == "passwd"
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert written == ["config/sources.yml", f"zone/landing/traversal_probe/{digest[:2]}/{digest}"]
    with psycopg.connect(warehouse_dsn) as conn:
        [(recorded,)] = conn.execute(
            "select landing_path from audit.fetch_log where source_id = 'traversal_probe' and resource = %s",
            (f"http://127.0.0.1:{httpserver.port}{path}",),
        ).fetchall()
    assert recorded == f"traversal_probe/{digest[:2]}/{digest}"
