"""OpenLineage datasets of the collection DAGs, read by the Airflow OpenLineage provider.

The provider turns a task's ``inlets``/``outlets`` into the inputs and outputs of its OpenLineage events. The
resources a batch fetched (``audit.fetch_log``) and the warehouse address are only known when a task runs, so the
tasks add them to themselves at run time (``annotate``), never at DAG-parse time. Names follow the OpenLineage
naming spec: an HTTP(S) resource is namespace ``<scheme>://<host>[:<port>]``, name its path (and query); a
PostgreSQL table is ``postgres://<host>:<port>``, ``<database>.<schema>.<table>``; a local file ``file://``, its path.

Where events go: ``AIRFLOW__OPENLINEAGE__TRANSPORT`` (default ``transport_env``: a JSON-lines file under
``.local/lineage/``), or an HTTP endpoint when ``OPENLINEAGE_URL`` or a configured transport says so.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from openlineage.client.event_v2 import Dataset
from psycopg.conninfo import conninfo_to_dict

from observatory.config.settings import Settings

NAMESPACE = "observatory"
EVENTS_FILE = "lineage/events.jsonl"
# what the provider takes as a configured transport (airflow.providers.openlineage.conf.is_disabled)
TRANSPORT_SETTINGS = (
    "AIRFLOW__OPENLINEAGE__TRANSPORT",
    "AIRFLOW__OPENLINEAGE__CONFIG_PATH",
    "AIRFLOW__OPENLINEAGE__CONFIG_CONN_ID",
    "OPENLINEAGE_URL",
)


def resource_dataset(resource: str) -> Dataset:
    """A fetched resource (``audit.fetch_log.resource``): an HTTP(S) URL, or a local file's path."""
    parts = urlsplit(resource)
    if parts.scheme in ("http", "https"):
        return Dataset(
            namespace=f"{parts.scheme}://{parts.netloc}", name=urlunsplit(("", "", parts.path, parts.query, ""))
        )
    return Dataset(namespace="file://", name=resource)


def batch_inputs(conn: psycopg.Connection, load_id: str) -> list[Dataset]:
    """What the batch ``load_id`` read: every resource its fetch landed."""
    rows = conn.execute(
        "select distinct resource from audit.fetch_log where load_id = %s and outcome = 'fetched' order by 1",
        (load_id,),
    )
    return [resource_dataset(resource) for (resource,) in rows]


def raw_table_dataset(raw_table: str, conninfo: str) -> Dataset:
    """What a collection writes: ``raw.<raw_table>`` of the warehouse at ``conninfo``."""
    params = conninfo_to_dict(conninfo)
    host, port = params.get("host", "localhost"), params.get("port", "5432")
    return Dataset(namespace=f"postgres://{host}:{port}", name=f"{params.get('dbname')}.raw.{raw_table}")


def annotate(task: Any, inputs: Sequence[Dataset], outputs: Sequence[Dataset] = ()) -> None:
    """Add run-time datasets to the running task's inlets/outlets, where the OpenLineage listener reads them."""
    task.inlets = [*task.inlets, *inputs]
    task.outlets = [*task.outlets, *outputs]


def transport_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Airflow settings for OpenLineage: the ``observatory`` namespace, the client's INFO lines off, and a file
    transport (``<OBSERVATORY_LOCAL_DIR>/lineage/events.jsonl``) unless a transport or ``OPENLINEAGE_URL`` is set."""
    env = os.environ if environ is None else environ
    settings = {
        "AIRFLOW__OPENLINEAGE__NAMESPACE": env.get("AIRFLOW__OPENLINEAGE__NAMESPACE", NAMESPACE),
        # the client's own level (it sets it itself): its INFO line per task would follow a failure's summary line
        "OPENLINEAGE_CLIENT_LOGGING": env.get("OPENLINEAGE_CLIENT_LOGGING", "WARNING"),
    }
    configured = any(env.get(name) for name in TRANSPORT_SETTINGS) or any(
        key.startswith("OPENLINEAGE__TRANSPORT") and value for key, value in env.items()
    )
    if not configured:
        events = Settings.from_env(env).local_dir / EVENTS_FILE
        events.parent.mkdir(parents=True, exist_ok=True)
        settings["AIRFLOW__OPENLINEAGE__TRANSPORT"] = json.dumps(
            {"type": "file", "log_file_path": str(events), "append": True}
        )
    return settings
