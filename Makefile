# Two entry points a fresh machine needs: `make serve` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install serve test lint docs browser interop nginx screenshots

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

# The load-balanced deployment test runs docker/nginx/nginx.conf with Debian's nginx in front of
# two live replicas (tests/operations/test_load_balanced.py).
NGINX := /usr/sbin/nginx
$(NGINX):
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light \
	  || ($(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq --no-install-recommends nginx-light)

nginx: $(NGINX)

# The interop tests drive a live server with the client libraries pinned in
# tests/interop/package-lock.json. No node or npm is an error, never a skipped suite.
INTEROP := tests/interop
$(INTEROP)/node_modules/.installed: $(INTEROP)/package.json $(INTEROP)/package-lock.json
	@command -v node >/dev/null && command -v npm >/dev/null || \
	  { echo "make test needs node (>= 20) and npm for the interop tests (tests/interop)" >&2; exit 1; }
	npm ci --prefix $(INTEROP) --no-audit --no-fund --loglevel=error
	touch $@

interop: $(INTEROP)/node_modules/.installed

test: lint browser interop nginx
	$(BIN)/pytest

docs: install
	$(BIN)/backchannel config docs > docs/configuration.md

# The README's screenshots, taken by the Chromium tests that play the demo (tests/demo/).
screenshots: install browser
	BACKCHANNEL_SCREENSHOTS=docs/screenshots $(BIN)/pytest tests/demo -q -p no:cacheprovider
