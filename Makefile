# Two entry points a fresh machine needs: `make serve` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install serve test lint docs browser

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

# The login page is tested in a real headless Chromium: Debian's package, driven by Playwright
# (a browser download such as `playwright install` cannot work offline).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
$(CHROMIUM):
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium \
	  || ($(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq --no-install-recommends chromium)

browser: $(CHROMIUM)

test: lint browser
	$(BIN)/pytest

docs: install
	$(BIN)/backchannel config docs > docs/configuration.md
