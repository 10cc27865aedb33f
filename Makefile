# lexrecon: `make run` and `make test` do all the set-up on a fresh machine.
SHELL := /bin/bash
PY ?= $(shell command -v python3.11 || command -v python3)
UV_VERSION := 0.13.8
UV := .uv/bin/uv
LEX := .venv/bin/lexrecon
SCALE ?= demo
SEED ?= 42
BENCH_SCALE ?= large
export RUNTIME__DLTHUB_TELEMETRY := false
export DO_NOT_TRACK := 1

.PHONY: help install system-deps run test bench reliability demo ingest build publish serve lint clean

help: ## list every target
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(UV):
	$(PY) -m venv .uv && .uv/bin/pip install -q uv==$(UV_VERSION)

install: $(UV) ## create .venv from the lock file (leaves .venv/bin/lexrecon)
	$(UV) sync --frozen --quiet --compile-bytecode

system-deps: ## install Debian's Chromium for browser tests if missing (PostgreSQL ships on the machine)
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }

demo: install ## generate the demo firm (SCALE=tiny|demo|large, SEED=42)
	$(LEX) demo generate --scale $(SCALE) --seed $(SEED)

ingest: install ## load every source into var/raw.duckdb with dlt
	$(LEX) ingest

build: install ## dbt build into var/build.duckdb
	$(LEX) build

publish: install ## atomically publish the green build to var/serving.duckdb
	$(LEX) publish

serve: install ## serve the dashboard on 127.0.0.1:8050
	$(LEX) serve

run: install demo ingest build publish serve ## everything: install, demo firm, ingest, build, publish, serve

test: install system-deps ## install and pass every test
	.venv/bin/pytest -n 2 -q

.venv-datacompy/bin/python: | $(UV)
	$(UV) venv .venv-datacompy --python $(PY)
	$(UV) pip install --python .venv-datacompy/bin/python 'datacompy[polars]==1.1.0'

bench: install .venv-datacompy/bin/python ## benchmarks at scale large (BENCH_SCALE=... to change); writes bench/results.json
	$(LEX) bench --scale $(BENCH_SCALE)

reliability: install ## run the reliability and security suites
	$(LEX) reliability

lint: install ## ruff
	.venv/bin/ruff check .

clean: ## remove generated data (var/)
	rm -rf var
