# One image for every Airflow service (and the one-off init and BI setup), built from the same lock file as the
# local install: docker compose build
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    AIRFLOW_HOME=/opt/airflow \
    OBSERVATORY_HOME=/opt/observatory \
    OBSERVATORY_LANDING_DIR=/data/landing \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    AIRFLOW__COSMOS__ENABLE_TELEMETRY=False \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false \
    PATH=/opt/observatory/.venv/bin:$PATH

# curl: the compose healthchecks of the api-server and the scheduler.
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/*

# Every path a named volume is mounted on exists and belongs to `airflow`, so a new volume starts out writable.
RUN useradd --create-home --uid 50000 airflow \
    && mkdir -p /opt/airflow/logs /opt/airflow/plugins /opt/airflow/cosmos /opt/observatory /data/landing \
    && chown -R airflow /opt/airflow /opt/observatory /data

WORKDIR /opt/observatory
USER airflow
COPY --chown=airflow requirements.lock pyproject.toml README.md ./
RUN python -m venv .venv \
    && .venv/bin/pip install --no-cache-dir --disable-pip-version-check uv==0.13.8 \
    && .venv/bin/uv pip install --no-cache --python .venv/bin/python -r requirements.lock
# Airflow's plugins folder is its default, $AIRFLOW_HOME/plugins: the project's plugins/ (real Airflow plugins only).
COPY --chown=airflow plugins /opt/airflow/plugins
COPY --chown=airflow dags ./dags
COPY --chown=airflow dbt_project ./dbt_project
COPY --chown=airflow expectations ./expectations
COPY --chown=airflow sources.yml ./
# The runtime package only (src/observatory; the development tooling in src/observatory_dev is not copied), without
# dependencies (they all come from the lock), and the dbt manifest that the transformation DAG is rendered from
# (dbt parse reads the profile but does not connect).
COPY --chown=airflow src/observatory ./src/observatory
RUN .venv/bin/uv pip install --no-cache --python .venv/bin/python --no-deps . \
    && cd dbt_project && ../.venv/bin/dbt parse --profiles-dir . --quiet

EXPOSE 8080 8793
CMD ["airflow", "version"]
