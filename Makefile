# data-engine-x. `make run` and `make test` install what they need themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test test-python lint migrate bootstrap clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

run: install
	$(PY) -m app run

migrate: install
	$(PY) -m app migrate

bootstrap: install
	$(PY) -m app bootstrap

lint: install
	$(PY) -m ruff check app tests
	$(PY) -m ruff format --check app tests

test: lint test-python

test-python: install
	$(PY) -m pytest -n 2 -q

clean:
	rm -rf $(VENV) .pytest_cache
