# Integrating Cities Observatory — the two commands a new user needs are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__COSMOS__ENABLE_TELEMETRY := False
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: install lock manifest demo test down eval bench faults docs report lint test-changed clean

## install: the pinned environment in .venv (from requirements.lock), with the project installed editable
install: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

## lock: re-resolve requirements.lock from pyproject.toml (after changing a dependency)
lock:
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --quiet -o requirements.lock

## manifest: dbt_project/target/manifest.json, which the transformation DAG is rendered from
manifest: install
	cd dbt_project && ../$(BIN)/dbt parse --profiles-dir . --quiet

## demo: run every DAG once on the bundled sample data and print what the marts hold
demo: install
	$(BIN)/observatory demo

## test: the whole test suite (unit, integration with real PostgreSQL, Airflow, dbt and GX)
test: install manifest
	$(BIN)/python -m pytest

## eval: precision and recall of fact extraction on the labelled report set
eval: install
	$(BIN)/python -m observatory.extract.evaluate

## bench: bulk-load benchmark (ours vs COPY vs pandas.to_sql); N=1000000 by default
bench: install
	$(BIN)/python -m observatory.bench $(N)

## faults: the fault-injection suite as a table; ends with 'faults tried=N survived=M rows_lost=L duplicates=D'
faults: install
	$(BIN)/python -m observatory.faults

## docs: dbt docs and GX Data Docs as static sites in .local/docs
docs: install manifest
	$(BIN)/python -m observatory.docs_site

## report: static HTML indicator report from the marts (.local/report/index.html)
report: install
	$(BIN)/python -m observatory.report

## lint: sqlfluff (dbt templater) on the dbt models, ruff on the Python
lint: install
	@$(BIN)/observatory up >/dev/null && eval "$$($(BIN)/observatory env)" && \
	  $(BIN)/sqlfluff lint dbt_project/models; sql=$$?; \
	  $(BIN)/ruff check plugins dags tests; py=$$?; exit $$(( sql || py ))

## test-changed: dbt slim CI, build only models changed since REF (default HEAD) and their children
test-changed: install
	$(BIN)/python -m observatory.dbt_state build --ref $(or $(REF),HEAD)

## down: stop the local PostgreSQL started by demo/test
down:
	-$(BIN)/observatory down

clean: down
	rm -rf .local dbt_project/target dbt_project/logs
