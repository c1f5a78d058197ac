# liveloop: `make run` serves the product, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
PYTEST_WORKERS ?= 3
BENCH_ARGS ?=
DEMO_ARGS ?=

.PHONY: run demo test check lint format migrate bench bench-fanout bench-flash-sale bench-analytics clean help

help:
	@echo "make run     - install, migrate, create a demo shop if none, serve on http://127.0.0.1:8000"
	@echo "make test    - the whole test suite (PostgreSQL/Redis/Chromium tests run when configured)"
	@echo "make check   - format, lint, types, import contracts, then the tests"
	@echo "make demo    - a scripted live show with 300 simulated viewers; watch /console, then read the review"
	@echo "make format  - apply ruff format and safe fixes"
	@echo "make bench-fanout - one live room, 5,000 real WebSocket viewers, beside the raw floor (bench/README.md)"
	@echo "make bench-flash-sale - 10,000 HTTP buyers on a 100-unit flash sale, grab path, floors (bench/README.md)"
	@echo "make bench-analytics - 10M events: ingest through EventIngest, the full review, beside the floor (bench/README.md)"

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "liveloop needs Python >= 3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/liveloop migrate
	$(BIN)/liveloop shop ensure-demo
	$(BIN)/liveloop serve

demo: $(STAMP)
	$(BIN)/liveloop migrate
	$(BIN)/liveloop demo $(DEMO_ARGS)

migrate: $(STAMP)
	$(BIN)/liveloop migrate

test: $(STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

check: lint test

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench-fanout: $(STAMP)
	$(BIN)/liveloop bench fanout $(BENCH_ARGS)

bench-flash-sale: $(STAMP)
	$(BIN)/liveloop bench flash-sale $(BENCH_ARGS)

# The floor's scripts (../shared/baselines) need numpy, which liveloop does not: a venv of their own.
BASELINE_VENV ?= .venv-baselines
$(BASELINE_VENV)/.stamp:
	$(PYTHON) -m venv $(BASELINE_VENV)
	$(BASELINE_VENV)/bin/python -m pip install --quiet numpy duckdb==2.0.0 pyarrow==26.0.1
	touch $@

bench-analytics: $(STAMP) $(BASELINE_VENV)/.stamp
	$(BIN)/liveloop bench analytics --baseline-python $(BASELINE_VENV)/bin/python $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .mypy_cache .ruff_cache .hypothesis
