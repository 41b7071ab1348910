# procmine — every target bootstraps its own environment: only python3 (3.11+) and make needed.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))
export UV_PYTHON_DOWNLOADS := never
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

SAMPLE_CASES ?= 2000
SAMPLE_SEED ?= 7
# pytest-xdist workers for `make test` (each test module runs whole on one worker, the heaviest
# first: tests/conftest.py HEAVY_FIRST; 0 = in this process)
TEST_WORKERS ?= 2
# the nightly soak (bench/soak.py): nights, incidents per night, SIGKILLs in all, seed
SOAK_NIGHTS ?= 30
SOAK_CASES ?= 40
SOAK_KILLS ?= 10
SOAK_SEED ?= 1

.PHONY: install demo test test-extended lint bench bench-40m bench-smoke soak clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	touch $@

install: $(VENV)/.installed ## the environment only (.venv/)

demo: install ## sample data → the whole pipeline; prints where the results are
	$(VENV)/bin/procmine sample --cases $(SAMPLE_CASES) --seed $(SAMPLE_SEED) --out data/landing
	$(VENV)/bin/procmine run
	@echo ""
	@echo "database:   $$(pwd)/data/procmine.duckdb   (try: .venv/bin/procmine sql \"select count(*) from core.events\")"
	@echo "dashboards: $$(pwd)/dashboards/index.html"

test: install ## the whole test suite, after the linters and the import contract (ARCHITECTURE.md)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

test-extended: install ## the real-log checks whose pm4py side takes minutes (~4 min; CI runs them)
	$(VENV)/bin/pytest -q -m extended

lint: install
	$(VENV)/bin/ruff check .

bench: install ## benchmarks → BENCHMARKS.md and bench/results.json (100k, 1M and 10M events, the real-shaped log, ~55 min)
	$(VENV)/bin/python -m bench.run $(BENCH_ARGS)

bench-40m: install ## issue #20's out-of-core row: 40M events generated and cached (18 GB of CSV), the first full run and a nightly with their peak RSS → bench/cache/work/cost-40m/result.json (~45 min, 36 GB of disk)
	$(VENV)/bin/python -m bench.nightly_cost --scale 40m --seed 7 --repeats 1

bench-smoke: install ## the benchmark harness at 100k events (a full run, three nightlies) and the real-shaped log × 2 (~4 min)
	$(VENV)/bin/pytest -q bench/test_smoke.py

soak: install ## nightly soak: SOAK_NIGHTS nights onto one store, SOAK_KILLS SIGKILLs, a reader; marts = one clean run
	$(VENV)/bin/python -m bench.soak --nights $(SOAK_NIGHTS) --cases-per-night $(SOAK_CASES) \
		--kills $(SOAK_KILLS) --seed $(SOAK_SEED) $(SOAK_ARGS)

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache
