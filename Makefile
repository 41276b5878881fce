# The two commands that matter: `make run` (the gateway on SQLite with sandbox agencies) and
# `make test` (lint + the whole suite on SQLite and a throwaway PostgreSQL).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PORT   ?= 8080
SANDBOX_PORT ?=
PLUGINS := plugins/civilregistry plugins/insurance plugins/postbank plugins/telecom

.PHONY: run test crash fuzz lint format bench postgres-server chromium nginx go clean

$(STAMP): pyproject.toml $(addsuffix /pyproject.toml,$(PLUGINS))
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,bench]' $(addprefix -e ,$(PLUGINS))
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/pishkhan-gateway demo --port $(PORT) $(if $(SANDBOX_PORT),--sandbox-port $(SANDBOX_PORT))

# Debian's PostgreSQL server, for the PostgreSQL half of the suite (the tests start a throwaway
# cluster themselves). Installed only where missing, and only when we may (root).
postgres-server:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "installing Debian's postgresql server for the tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	else echo "WARNING: no PostgreSQL server binaries and not root: install 'postgresql' to run the PostgreSQL half"; fi

# Debian's Chromium, for the console's browser tests (Playwright drives it; no browser download).
chromium:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "WARNING: no chromium and not root: install 'chromium' to run the browser tests"; fi

# Debian's nginx, for the test of the documented front proxy (docs/deploy/nginx.conf).
nginx:
	@if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "installing Debian's nginx for the front-proxy test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null; \
	else echo "WARNING: no nginx and not root: install 'nginx-light' to run the front-proxy test"; fi

# Debian's Go and golang.org/x/mod, for the interoperability test of the witnessed log: Go's own
# sumdb/note and sumdb/tlog verify our checkpoints, tiles and proofs (offline, GO111MODULE=off).
go:
	@if command -v go >/dev/null 2>&1 && [ -d /usr/share/gocode/src/golang.org/x/mod/sumdb/tlog ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "installing Debian's golang-go and golang-golang-x-mod-dev for the Go interop test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go golang-golang-x-mod-dev >/dev/null; \
	else echo "WARNING: no Go and not root: install golang-go golang-golang-x-mod-dev to run the Go interop test"; fi

lint: $(STAMP)
	$(BIN)/ruff check src plugins tests bench tools
	$(BIN)/ruff format --check src plugins tests bench tools

format: $(STAMP)
	$(BIN)/ruff format src plugins tests bench
	$(BIN)/ruff check --fix src plugins tests bench

test: $(STAMP) postgres-server chromium nginx go lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The SIGKILL rounds at full length (make test runs 25 per database): 1,000 kills per database,
# under twice the load, with a fresh seed each run (printed; CRASH_SEED=… replays one).
CRASH_ROUNDS ?= 1000
CRASH_THREADS ?= 12
CRASH_SEED ?=
crash: $(STAMP) postgres-server
	PISHKHAN_CRASH_ROUNDS=$(CRASH_ROUNDS) PISHKHAN_CRASH_THREADS=$(CRASH_THREADS) \
	  PISHKHAN_CRASH_SEED=$(CRASH_SEED) $(BIN)/python -m pytest -q -s tests/test_crash_safety.py -k sigkill

# Every /openapi.json operation fuzzed at 1,000 cases each, on SQLite and PostgreSQL, every answer
# checked against the document (make test runs 25 an operation; the console's pages 40).
FUZZ_EXAMPLES ?= 1000
fuzz: $(STAMP)
	PISHKHAN_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q tests/test_fuzz_api.py tests/test_hostile_input.py -k never_answers_500

# Benchmarks print figures beside baselines measured in the same run (see BENCHMARKS.md):
# HTTP throughput and latency (wrk + an open-loop driver), then the log at BENCH_ENTRIES.
BENCH_ENTRIES ?= 1000000
BENCH_SECONDS ?= 15
bench: $(STAMP) postgres-server
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; } || \
	  { echo "wrk is needed: install Debian's wrk"; exit 1; }
	$(BIN)/python bench/http_bench.py --seconds $(BENCH_SECONDS)
	$(BIN)/python bench/log_scale.py --entries $(BENCH_ENTRIES)

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
