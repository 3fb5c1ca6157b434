# The two commands a fresh machine needs: `make up` runs duban, `make test` runs its tests.
# Both create .venv and install duban (with its pinned ranges) on first use.
# `make up ARGS="--api-port 18100"` passes options to `duban up` (see `duban up --help`).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: up test lint unit fuzz bench clean screenshots mutation mutation-changed

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
# throughput, thumbnails), and the console's supervisor pages with 10,000 cases in scope.
bench: $(STAMP)
	$(BIN)/python -m bench.store
	$(BIN)/python -m bench.cases
	$(BIN)/python -m bench.projections
	$(BIN)/python -m bench.documents
	$(BIN)/python -m bench.blobs --s3
	$(BIN)/python -m bench.console
	$(BIN)/python -m bench.deliveries

# The console's pages at a phone's width (360 px) and a desktop's (1280 px), written by the
# browser tests (Debian's chromium: apt-get install -y chromium fonts-noto-cjk) into
# docs/screenshots/, the ones the README shows.
screenshots: $(STAMP)
	DUBAN_SCREENSHOTS_DIR=docs/screenshots $(BIN)/pytest -q -m browser tests/console/

# Mutation testing (tests/mutation/README.md): mutmut mutates domain/ and runs the pure domain
# tests (tests/domain) against each mutant, MUTATION_JOBS at a time; then the score per module.
# `make mutation MUTANTS="domain.calendar.x*"` runs (again) only the mutants of one module.
# `make mutation-changed` mutates only the domain modules changed against MUTATION_BASE (a
# branch: MUTATION_BASE=main) and fails under 90 % a module / 95 % in all.
MUTATION_JOBS ?= 2
MUTATION_EXAMPLES ?= 20
MUTANTS ?=
MUTATION_BASE ?= HEAD~1
mutation: $(STAMP)
	$(if $(MUTANTS),,rm -rf mutants)
	DUBAN_PROPERTY_EXAMPLES=$(MUTATION_EXAMPLES) $(BIN)/mutmut run --max-children $(MUTATION_JOBS) $(MUTANTS)
	$(BIN)/python -m tests.mutation.report $(MUTANTS)

mutation-changed: $(STAMP)
	@patterns=$$($(BIN)/python -m tests.mutation.changed $(MUTATION_BASE)); \
	if [ -z "$$patterns" ]; then echo "no domain module changed against $(MUTATION_BASE)"; exit 0; fi; \
	echo "mutating $$patterns"; \
	DUBAN_PROPERTY_EXAMPLES=$(MUTATION_EXAMPLES) $(BIN)/mutmut run --max-children $(MUTATION_JOBS) $$patterns >/dev/null && \
	$(BIN)/python -m tests.mutation.report --check $$patterns

# Not the data directory: it holds the cases (see DUBAN_DATA_DIR in README.md).
clean:
	rm -rf $(VENV) .fuzz .pytest_cache .mypy_cache .ruff_cache mutants
