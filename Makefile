# The two commands a fresh machine needs: `make up` runs duban, `make test` runs its tests.
# Both create .venv and install duban (with its pinned ranges) on first use.
# `make up ARGS="--api-port 18100"` passes options to `duban up` (see `duban up --help`).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: up test lint unit fuzz bench clean screenshots

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

ARGS ?=

up: $(STAMP)
	$(BIN)/duban up $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: $(STAMP)
	$(BIN)/pytest

test: lint unit

# The fuzzer run: schemathesis with every check, as every role and with no token, against the
# API served over HTTP on a stack of its own (fresh database, Temporal dev server, worker).
# Prints requests and failures by check per run; reports in .fuzz/. Exit 1 on any failure.
FUZZ_EXAMPLES ?= 100
fuzz: $(STAMP)
	$(BIN)/python -m tests.api.fuzz --max-examples $(FUZZ_EXAMPLES)

# Benchmarks print figures (they are not tests): the event store, case workflows on the dev
# server, the read models over a store of a million events (the longest, ~15 minutes),
# rendering each kind of official document to PDF, and the evidence blob store (put/verify
# throughput, thumbnails).
bench: $(STAMP)
	$(BIN)/python -m bench.store
	$(BIN)/python -m bench.cases
	$(BIN)/python -m bench.projections
	$(BIN)/python -m bench.documents
	$(BIN)/python -m bench.blobs --s3
	$(BIN)/python -m bench.deliveries

# The console's pages at a phone's width (360 px) and a desktop's (1280 px), written by the
# browser tests (Debian's chromium: apt-get install -y chromium fonts-noto-cjk) into
# docs/screenshots/, the ones the README shows.
screenshots: $(STAMP)
	DUBAN_SCREENSHOTS_DIR=docs/screenshots $(BIN)/pytest -q -m browser tests/console/test_console_browser.py

# Not the data directory: it holds the cases (see DUBAN_DATA_DIR in README.md).
clean:
	rm -rf $(VENV) .fuzz .pytest_cache .mypy_cache .ruff_cache
