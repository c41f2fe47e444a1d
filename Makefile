# data-engine-x. Every target installs what it needs itself (Python venv + pip, npm ci).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NODE_STAMP := trigger/node_modules/.installed
CONSOLE_STAMP := console/node_modules/.installed
CONSOLE_BUILT := console/dist/index.html
CONSOLE_SOURCES := $(shell find console/src console/public -type f ! -name schema.d.ts 2>/dev/null) console/index.html \
	console/vite.config.ts console/tsconfig.json
APP_SOURCES := $(shell find app -name '*.py' 2>/dev/null)

.PHONY: install run demo worker test test-python test-ts lint migrate bootstrap bench bench-quick clean reliability mutation \
	console chromium console-screenshots docs

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

$(NODE_STAMP): trigger/package.json trigger/package-lock.json
	cd trigger && npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

$(CONSOLE_STAMP): console/package.json console/package-lock.json
	cd console && npm ci --no-audit --no-fund --loglevel=error
	touch $(CONSOLE_STAMP)

# the operator console (console/, served at /console). Its client types are generated from the
# app's own OpenAPI schema and type-checked before the build, so an API change that breaks a page
# fails here, in make test.
$(CONSOLE_BUILT): $(STAMP) $(CONSOLE_STAMP) $(CONSOLE_SOURCES) $(APP_SOURCES)
	$(PY) -m app openapi console/openapi.json
	cd console && npx --no-install openapi-typescript openapi.json --output src/api/schema.d.ts --silent
	cd console && npx --no-install tsc --noEmit
	cd console && npx --no-install vite build --logLevel warn

console: $(CONSOLE_BUILT)

# the console's browser tests drive Debian's chromium (Playwright's own browser download is not
# reachable from CI)
chromium:
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

install: $(STAMP) $(NODE_STAMP) console

run: install
	$(PY) -m app run

demo: install
	$(PY) -m app demo

worker: install
	cd trigger && npm run --silent worker

migrate: install
	$(PY) -m app migrate

bootstrap: install
	$(PY) -m app bootstrap

lint: install
	$(PY) -m ruff check app tests sandbox bench
	$(PY) -m ruff format --check app tests sandbox bench
	$(PY) -m mypy

test: lint test-ts test-python

test-ts: install
	cd trigger && npm run --silent typecheck && npm test --silent
	cd console && npm test --silent

test-python: install chromium
	$(PY) -m pytest -n 2 --dist loadgroup -q

# a screenshot of every console page into docs/console/ (the browser tests, writing them)
console-screenshots: install chromium
	DEX_CONSOLE_SCREENSHOTS=docs/console $(PY) -m pytest -q tests/console

# the reference sections of docs/operations.md and docs/costs.md, from the catalog's declarations
docs: install
	$(PY) -m app.docs_catalog

bench: install
	$(PY) -m bench

bench-quick: install
	$(PY) -m bench --quick

# the reliability and security suite at full sizes (the load and fairness tests alone, so their latencies are their
# own), then docs/RELIABILITY.md from its figures. The fuzzer is randomized here, with one fresh seed
# per run shared by both workers (DEX_FUZZ_SEED=<n> make reliability replays a run); make test runs
# it derandomized, so a new finding never turns an unrelated change red (docs/TESTING.md).
reliability: install
	rm -rf .data/reliability/figures
	DEX_RELIABILITY=full $(PY) -m pytest -n 2 -q tests/reliability --ignore=tests/reliability/test_load.py \
		--ignore=tests/reliability/test_fuzz.py --ignore=tests/reliability/test_fairness.py
	seed=$${DEX_FUZZ_SEED:-$$(( RANDOM * 32768 + RANDOM ))}; echo "fuzz seed $$seed"; \
		DEX_RELIABILITY=full DEX_FUZZ_SEED=$$seed $(PY) -m pytest -n 2 -q tests/reliability/test_fuzz.py
	DEX_RELIABILITY=full $(PY) -m pytest -q tests/reliability/test_load.py
	DEX_RELIABILITY=full $(PY) -m pytest -q tests/reliability/test_fairness.py
	$(PY) -m tests.reliability.report

# mutation testing over the modules where a silent bug costs money or leaks data (pyproject's
# [tool.mutmut]; results and scores in docs/TESTING.md). Not part of make test: about 30 min on 2
# cores. MUTANTS="app.ratelimit*" runs a subset; results stay in mutants/ (`mutmut results`).
MUTANTS ?=
mutation: install
	rm -rf mutants
	eval "$$($(PY) -m tests.mutation_db start)"; \
		$(VENV)/bin/mutmut run --max-children 2 $(MUTANTS); status=$$?; \
		$(PY) -m tests.mutation_db stop; \
		$(VENV)/bin/mutmut export-cicd-stats >/dev/null 2>&1 || true; \
		exit $$status

clean:
	rm -rf $(VENV) .pytest_cache trigger/node_modules console/node_modules console/dist
