# Two commands do everything on a fresh clone: `make demo` and `make test`.
# Needs only Python 3.11+, Node/npm and make; the rest is installed into .venv and node_modules.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY_OK  := $(VENV)/.installed
NODE_OK := node_modules/.installed

.PHONY: setup lint unit test demo bench package events stack offline clean soak

setup: $(PY_OK) $(NODE_OK)

$(PY_OK): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed, found " + sys.version)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

$(NODE_OK): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

lint: $(PY_OK)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy record_task handler.py tools tests

# Everything CI runs: lint, unit + integration + e2e tests, and the packaging checks (osls + cfn-lint).
test: setup lint
	$(BIN)/pytest --cov --cov-report=term:skip-covered

# The long proof: 10,000 fuzz cases over both entry points (hypothesis profile `soak`), then 1,000 bookings
# through handler.queue with 30 % of Tencent calls and 10 % of SNS publishes failing, and a Lambda killed
# mid-batch (tools/soak/). `make test` runs a small version of both.
soak: setup
	HYPOTHESIS_PROFILE=soak $(BIN)/pytest tests/fuzz -p no:cacheprovider --hypothesis-show-statistics
	$(BIN)/python -m tools.soak --bookings 1000

unit: $(PY_OK)
	$(BIN)/pytest tests/unit

demo: setup
	$(BIN)/python -m tools.demo

# The performance figures (cold start, queue drain, sweep, DynamoDB requests, memory), printed and
# written to BENCHMARKS.md; ~10 minutes on 2 cores. `python -m tools.bench --help` for fewer runs.
bench: setup
	$(BIN)/python -m tools.bench

# Builds the deployment zip offline (npx osls package --stage dev) and checks size, contents and cfn-lint.
package: setup
	$(BIN)/pytest tests/e2e/test_package.py -s

# A long-running local stack (moto server on :5000, Tencent emulator on :9000) for
# `npx osls invoke local --stage local -f queue -p events/<file>.json`; Ctrl-C stops it.
stack: $(PY_OK)
	$(BIN)/python -m tools.local_stack

# The webhook's four POST routes served by serverless-offline on 127.0.0.1:3000 with the real handler and the
# local stage's settings (docs/local-development.md); `make stack` must be running in another terminal.
offline: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" VIRTUAL_ENV="$(CURDIR)/$(VENV)" npx osls offline --stage local --host 127.0.0.1 \
		--param=liveApiRatePerSecond=1000  # one local instance: no fleet to share the rate with

clean:
	rm -rf $(VENV) node_modules .serverless .pytest_cache .mypy_cache .ruff_cache .coverage .hypothesis

events: $(PY_OK)
	$(BIN)/python -m tools.sample_events
