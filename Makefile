# The two commands a fresh machine needs: `make up` runs duban, `make test` runs its tests.
# Both create .venv and install duban (with its pinned ranges) on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: up test lint unit bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

up: $(STAMP)
	$(BIN)/duban up

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: $(STAMP)
	$(BIN)/pytest

test: lint unit

# Benchmarks print figures (they are not tests): the event store, case workflows on the dev
# server, the read models over a store of a million events (the longest, ~15 minutes), and
# rendering each kind of official document to PDF.
bench: $(STAMP)
	$(BIN)/python -m bench.store
	$(BIN)/python -m bench.cases
	$(BIN)/python -m bench.projections
	$(BIN)/python -m bench.documents

clean:
	rm -rf $(VENV) .duban .pytest_cache .mypy_cache .ruff_cache
