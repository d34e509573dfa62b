# Integrating Cities Observatory — the two commands a new user needs are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PY_PATHS := src dags plugins tests
UV_VERSION := 0.13.8
# uv reads the system's certificate store, as pip does: behind a TLS proxy with its own CA (found as an ordinary
# user without SSL_CERT_FILE: 'invalid peer certificate: UnknownIssuer') the install still works
export UV_SYSTEM_CERTS ?= 1
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__COSMOS__ENABLE_TELEMETRY := False
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: help install lock manifest demo test up status down eval bench bench-funding faults docs report browser bi bi-down lint format test-changed clean

.DEFAULT_GOAL := help

## help: list every target
help:
	@grep -E '^## ' $(MAKEFILE_LIST) | sed -E 's/^## ([a-z-]+): /  \1\t/' | expand -t 16

## install: the pinned development environment in .venv (requirements-dev.lock), the project installed editable
install: $(VENV)/.installed

$(VENV)/.installed: requirements-dev.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements-dev.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

## lock: re-resolve requirements.lock (runtime, the image) and requirements-dev.lock (+ tests, lint) with uv
lock: install
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --quiet -o requirements-dev.lock
	cp requirements-dev.lock requirements.lock  # the runtime lock keeps the dev lock's versions
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 --quiet -o requirements.lock

## manifest: dbt_project/target/manifest.json, which the transformation DAG is rendered from
manifest: install
	cd dbt_project && ../$(BIN)/dbt parse --profiles-dir . --quiet

## demo: run every DAG once on the bundled sample data and print what the marts hold
demo: install
	$(BIN)/observatory demo

## test: the whole test suite (unit, integration with real PostgreSQL, Airflow, dbt and GX)
test: install manifest browser
	$(BIN)/python -m pytest

## eval: precision and recall of fact extraction on the labelled report set
eval: install
	$(BIN)/python -m observatory_dev.extraction_eval

## bench: stage-by-stage benchmark (collect, parse, GX gate, publish, dbt build, reruns) vs COPY, dlt, to_sql; N=10000000 by default
bench: install
	$(BIN)/python -m observatory_dev.bench $(N)

## bench-funding: funding benchmark (synthetic cohesion-portal records, paged, through to the marts); M=2000000 by default
bench-funding: install
	$(BIN)/python -m observatory_dev.bench_funding $(M)

## faults: the fault-injection suite as a table; ends with 'faults tried=N survived=M rows_lost=L duplicates=D'
faults: install
	$(BIN)/python -m observatory_dev.faults

## docs: dbt docs and GX Data Docs as static sites in .local/docs
docs: install manifest
	$(BIN)/python -m observatory_dev.docs_site

## report: static HTML indicator report from the marts (.local/report/index.html)
report: install
	$(BIN)/python -m observatory.reporting.report

## browser: Debian's chromium for the browser tests (apt-get as root; as another user unpacked into .local/browser)
browser: install
	$(BIN)/python -m observatory_dev.browser

## bi: Superset (own venv in .local/bi) on the marts as bi_reader, dashboard provisioned from bi/superset/assets
bi: install browser
	$(BIN)/python -m observatory_dev.bi start

## bi-down: stop Superset (make down stops it too)
bi-down:
	-@if [ -x $(BIN)/python ]; then $(BIN)/python -m observatory_dev.bi stop; fi

## lint: sqlfluff (dbt templater) on the dbt models; ruff check, ruff format --check and mypy on the Python
lint: install
	@$(BIN)/observatory up >/dev/null && eval "$$($(BIN)/observatory env)" && \
	  $(BIN)/sqlfluff lint dbt_project/models; sql=$$?; \
	  $(BIN)/ruff check $(PY_PATHS); check=$$?; \
	  $(BIN)/ruff format --check $(PY_PATHS); format=$$?; \
	  $(BIN)/mypy; types=$$?; exit $$(( sql || check || format || types ))

## format: ruff format and the safe ruff fixes on the Python
format: install
	$(BIN)/ruff check --fix $(PY_PATHS)
	$(BIN)/ruff format $(PY_PATHS)

## test-changed: dbt slim CI, build only models changed since REF (default HEAD) and their children
test-changed: install
	$(BIN)/python -m observatory_dev.slim_ci build --ref $(or $(REF),HEAD)

## up: the local stack in the background: warehouse, sample mirror, Airflow (scheduler, dag-processor, triggerer, api-server)
up: install manifest
	$(BIN)/python -m observatory_dev.local_stack up

## status: each process of the local stack: running or not, pid, port or URL
status:
	@if [ -x $(BIN)/python ]; then $(BIN)/python -m observatory_dev.local_stack status; else echo "not installed"; fi

## down: stop the whole local stack (Superset, Airflow, mirror, warehouse); safe when nothing runs
down:
	-@if [ -x $(BIN)/python ]; then $(BIN)/python -m observatory_dev.bi stop; $(BIN)/python -m observatory_dev.local_stack down; fi

## clean: stop the warehouse and remove local state and dbt build output
clean: down
	rm -rf .local dbt_project/target dbt_project/logs
