# CME case management — developer commands.
#   make run    install what is missing, migrate, load demo data, serve http://localhost:3000
#   make test   install what is missing (incl. Debian chromium), run the whole suite, ruff
#               and the import-layer contracts
#   make bench  benchmarks (never part of make test)
#   make restore-drill  encrypted backup -> fresh database -> integrity, row-count, audit checks

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON      ?= python3.11
VENV        := .venv
TOOLS       := .tools
PY_STAMP    := $(VENV)/.cme-installed
BUN_VERSION := 1.4.4
AXE_VERSION := 4.14.1
BUN_DIR     := $(CURDIR)/$(TOOLS)/node_modules/@oven/bun-linux-x64/bin
BUN         := $(BUN_DIR)/bun
AXE         := $(TOOLS)/node_modules/axe-core/axe.min.js
CHROMIUM    := /usr/bin/chromium
PORT        ?= 3000
PYTEST_ARGS ?=

export PATH := $(BUN_DIR):$(CURDIR)/$(VENV)/bin:$(PATH)
export npm_config_cache := $(CURDIR)/$(TOOLS)/npm-cache
export BUN_INSTALL_CACHE_DIR := $(CURDIR)/$(TOOLS)/bun-cache
export REFLEX_CHECK_LATEST_VERSION := 0
export REFLEX_TELEMETRY_ENABLED := false
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help install python-deps js-tools system-deps test-deps run test lint bench security-scan restore-drill

help:
	@echo "make run | make test | make bench | make restore-drill | make lint | make install | make test-deps"

# ---------------------------------------------------------------------------- install
install: system-deps python-deps js-tools

python-deps: $(PY_STAMP)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# Re-install only when pyproject.toml changed since the last successful install.
$(PY_STAMP): pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/python -m pip install --quiet --quiet -e '.[dev]'
	touch $@

# bun (Reflex's JS toolchain; the GitHub install script is unreachable here) and axe-core,
# both pinned, from the npm registry. One npm call, so neither prunes the other.
js-tools:
	@if [ -x "$(BUN)" ] && [ "$$("$(BUN)" --version)" = "$(BUN_VERSION)" ] \
	    && grep -q '"version": "$(AXE_VERSION)"' $(TOOLS)/node_modules/axe-core/package.json 2>/dev/null \
	    && [ -f "$(AXE)" ]; then :; else \
	  echo "Installing bun $(BUN_VERSION) and axe-core $(AXE_VERSION) into $(TOOLS)"; \
	  npm install --prefix $(TOOLS) --ignore-scripts --no-save --no-audit --no-fund \
	    @oven/bun-linux-x64@$(BUN_VERSION) axe-core@$(AXE_VERSION); \
	  "$(BUN)" --version >/dev/null; test -f "$(AXE)"; \
	fi

# Debian's Pango, HarfBuzz and fonts: WeasyPrint renders the notices and letters with them
# (make run and make test both need them, so `install` has them).
DOC_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 fonts-dejavu-core
system-deps:
	@if ! dpkg -s $(DOC_PACKAGES) >/dev/null 2>&1; then \
	  if [ "$$(id -u)" != 0 ]; then echo "Pango or fonts missing: run 'apt-get install -y $(DOC_PACKAGES)' as root" >&2; exit 1; fi; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  if ! apt-cache show libpangoft2-1.0-0 >/dev/null 2>&1; then apt-get update; fi; \
	  apt-get install -y $(DOC_PACKAGES) || { apt-get update && apt-get install -y $(DOC_PACKAGES); }; \
	fi

# Debian's chromium for the browser tests (downloaded Playwright browsers are unavailable).
test-deps: install
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "$(CHROMIUM) missing: run 'apt-get install -y chromium' as root" >&2; exit 1; fi; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  if ! apt-cache show chromium >/dev/null 2>&1; then apt-get update; fi; \
	  apt-get install -y chromium || { apt-get update && apt-get install -y chromium; }; \
	fi
	@# Debian's redis-server: the production-profile run (CME_TEST_REDIS=1) starts its own.
	@if ! command -v redis-server >/dev/null; then \
	  if [ "$$(id -u)" != 0 ]; then echo "redis-server missing: run 'apt-get install -y redis-server' as root" >&2; exit 1; fi; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y redis-server || { apt-get update && apt-get install -y redis-server; }; \
	fi

# ---------------------------------------------------------------------------- run
run: install
	$(VENV)/bin/cme-app migrate
	$(VENV)/bin/cme-app demo
	$(VENV)/bin/reflex run --env prod --single-port --frontend-port $(PORT) --backend-port $(PORT)

# ---------------------------------------------------------------------------- checks
# STATIC_CHECKS=0 skips the scans and lint, which read only the code: CI's second pass (the
# same code on PostgreSQL) doesn't repeat them.
STATIC_CHECKS ?= 1
test: test-deps
	PYTEST=$(VENV)/bin/pytest scripts/timed.sh "pytest" scripts/pytest_split.sh $(PYTEST_ARGS)
ifeq ($(STATIC_CHECKS),1)
	scripts/timed.sh "security scan" $(MAKE) --no-print-directory security-scan
	scripts/timed.sh "lint" $(MAKE) --no-print-directory lint
endif

# ruff (style, security, complexity <= 10) and the layer contracts (docs/architecture.md).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

# bandit, pip-audit and npm audit (scripts/security_scan.sh says what fails the run).
security-scan: install
	scripts/security_scan.sh

# Backs up the configured database (REFLEX_DB_URL), restores it into a fresh database and checks
# it (docs/deploy.md). With no database configured and no cme.db yet, it makes the demo one first;
# an existing cme.db (a pilot's, perhaps) is drilled as it is, never given demo data.
DRILL_ARGS ?=
restore-drill: install
	@if [ -z "$${REFLEX_DB_URL:-}" ] && [ ! -f cme.db ]; then \
	  echo "No REFLEX_DB_URL and no cme.db: making the demo database to drill"; \
	  $(VENV)/bin/cme-app migrate; $(VENV)/bin/cme-app demo >/dev/null; \
	fi
	$(VENV)/bin/cme-app restore-drill $(DRILL_ARGS)

bench: install
	$(VENV)/bin/python bench/run_all.py
