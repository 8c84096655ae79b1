# The hub's two commands: `make run` serves a demo on http://127.0.0.1:8080, `make test` runs
# every test on both backends. `make check` adds ruff and mypy, and ESLint and TypeScript's
# checker over the browser code (hub/inbox/static, widget/), which need Node.js and npm.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev-stamp
RUN_STAMP := $(VENV)/.installed-stamp
# The front end's checkers (package.json), installed again when the lock file changes.
NODE_STAMP := node_modules/.installed-stamp
# Test processes (pytest-xdist): each has its own database, Redis prefix and ports.
TEST_WORKERS ?= 3

# The served backend of the test suite; .ci/run uses the same.
export HUB_TEST_PG_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/postgres
export HUB_TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: run test check lint typecheck lint-js typecheck-js bench clean

$(RUN_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

run: $(RUN_STAMP)
	$(BIN)/python -m hub migrate
	$(BIN)/python -m hub demo
	$(BIN)/python -m hub serve

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS)

lint: $(STAMP) lint-js
	$(BIN)/ruff check hub tests bench
	$(BIN)/ruff format --check hub tests bench

typecheck: $(STAMP) typecheck-js
	$(BIN)/mypy

# ESLint (eslint.config.mjs) and tsc --noEmit (tsconfig.json) over hub/inbox/static and widget/.
lint-js: $(NODE_STAMP)
	npm run --silent lint

typecheck-js: $(NODE_STAMP)
	npm run --silent typecheck

check: lint typecheck test

bench: $(STAMP)
	$(BIN)/python -m bench.write_path

clean:
	rm -rf $(VENV) build *.egg-info node_modules
