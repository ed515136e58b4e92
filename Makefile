# CME case management — developer commands.
#   make run    install what is missing, migrate, load demo data, serve http://localhost:3000
#   make test   install what is missing (incl. Debian chromium), run the whole suite + ruff
#   make bench  benchmarks (never part of make test)

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

.PHONY: help install python-deps js-tools test-deps run test lint bench security-scan

help:
	@echo "make run | make test | make bench | make lint | make install | make test-deps"

# ---------------------------------------------------------------------------- install
install: python-deps js-tools

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

# Debian's chromium for the browser tests (downloaded Playwright browsers are unavailable).
test-deps: install
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "$(CHROMIUM) missing: run 'apt-get install -y chromium' as root" >&2; exit 1; fi; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  if ! apt-cache show chromium >/dev/null 2>&1; then apt-get update; fi; \
	  apt-get install -y chromium || { apt-get update && apt-get install -y chromium; }; \
	fi

# ---------------------------------------------------------------------------- run
run: install
	$(VENV)/bin/cme-app migrate
	$(VENV)/bin/cme-app demo
	$(VENV)/bin/reflex run --env prod --single-port --frontend-port $(PORT) --backend-port $(PORT)

# ---------------------------------------------------------------------------- checks
test: test-deps
	$(VENV)/bin/pytest $(PYTEST_ARGS)
	$(MAKE) --no-print-directory security-scan
	$(VENV)/bin/ruff check .

# bandit, pip-audit and npm audit (scripts/security_scan.sh says what fails the run).
security-scan: install
	scripts/security_scan.sh

lint: install
	$(VENV)/bin/ruff check .

bench: install
	$(VENV)/bin/python bench/run_all.py
