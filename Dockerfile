# One image for every Airflow service, built from the same lock file as the local install.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    AIRFLOW_HOME=/opt/airflow \
    OBSERVATORY_HOME=/opt/observatory \
    OBSERVATORY_LANDING_DIR=/data/landing \
    PATH=/opt/observatory/.venv/bin:$PATH

RUN useradd --create-home --uid 50000 airflow \
    && mkdir -p /opt/airflow /opt/observatory /data/landing \
    && chown -R airflow /opt/airflow /opt/observatory /data

WORKDIR /opt/observatory
COPY --chown=airflow requirements.lock pyproject.toml README.md ./
USER airflow
RUN python -m venv .venv \
    && .venv/bin/pip install --no-cache-dir uv==0.13.8 \
    && .venv/bin/uv pip install --no-cache --python .venv/bin/python -r requirements.lock
COPY --chown=airflow plugins ./plugins
COPY --chown=airflow dags ./dags
COPY --chown=airflow dbt_project ./dbt_project
COPY --chown=airflow expectations ./expectations
COPY --chown=airflow sources.yml ./
RUN .venv/bin/uv pip install --no-cache --python .venv/bin/python --no-deps -e . \
    && cd dbt_project && ../.venv/bin/dbt parse --profiles-dir . --quiet
