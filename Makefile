# Townhall: `make demo` runs the bot against local fakes; `make test` runs the test suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install demo test run lint format audit clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/townhall demo

test: $(STAMP)
	$(BIN)/pytest

run: $(STAMP)
	$(BIN)/townhall run

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check townhall/migrations

# Known vulnerabilities with a fix available in the installed dependencies; needs the PyPI JSON
# API or OSV (not reachable from machines that only see a package mirror).
audit: $(STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check pip-audit
	$(BIN)/pip-audit --skip-editable --strict

format: $(STAMP)
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache
