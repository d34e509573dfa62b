"""The "Observatory" view of the Airflow 3 UI: the data-health page of ``observatory.airflow.health_view``, mounted
on the api-server at ``/observatory`` and linked from the navigation (shown inside the UI at ``/plugin/observatory``).

Airflow imports this file in every process; the page's app (FastAPI, the warehouse code) is built only when the
api-server asks for ``fastapi_apps``.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.plugins_manager import AirflowPlugin


class ObservatoryViewPlugin(AirflowPlugin):
    name = "observatory"
    external_views = [
        {
            "name": "Observatory",
            "href": "observatory/",
            "destination": "nav",
            "url_route": "observatory",
            "nav_top_level": True,
        }
    ]

    @cached_property
    def fastapi_apps(self) -> list[dict[str, Any]]:  # type: ignore[override]
        from observatory.airflow.health_view import URL_PREFIX, create_app

        return [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "Observatory"}]
