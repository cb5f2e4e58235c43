# Two entry points a fresh machine needs: `make serve` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install serve test lint docs

# Re-install whenever the dependencies change.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

serve: install
	$(BIN)/backchannel serve --demo

lint: install
	$(BIN)/ruff check app tests alembic bench
	$(BIN)/ruff format --check app tests alembic bench
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

docs: install
	$(BIN)/backchannel config docs > docs/configuration.md
