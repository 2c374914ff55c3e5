# fleet_assets: `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export FLEET_HOME ?= $(CURDIR)/.fleet
export DAGSTER_HOME ?= $(FLEET_HOME)/dagster_home
# dg compares the active venv with the project's .venv and warns on every command when none
# is active, as when it runs as .venv/bin/dg; this one is the project's.
DG := VIRTUAL_ENV=$(CURDIR)/$(VENV) $(BIN)/dg

.PHONY: install demo test lint check dev sandbox bench chaos clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/fleet demo

test: $(STAMP)
	$(BIN)/pytest -n 2

lint: $(STAMP)
	$(BIN)/ruff check fleet_assets fleet_assets_tests bench

# Loads the code location the way the UI does (dagster-dg-cli, [tool.dg] in pyproject.toml).
check: $(STAMP)
	$(BIN)/python -m fleet_assets.state.instance
	$(DG) check defs

sandbox: $(STAMP)
	$(BIN)/fleet sandbox

# The Dagster UI (webserver + daemon) on http://127.0.0.1:3000, with the sandbox running.
dev: $(STAMP)
	$(BIN)/python -m fleet_assets.state.instance
	$(BIN)/fleet sandbox & trap 'kill $$!' EXIT; \
	  PATH=$(CURDIR)/$(BIN):$$PATH $(DG) dev --host 127.0.0.1 --port 3000

# Ratios measured in one run (Scrapy, aiohttp and lxml baselines); rewrites BENCHMARKS.md's table.
bench: $(STAMP)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[bench]'
	$(BIN)/python -m bench.run --write BENCHMARKS.md

# 5,000 pages under every fault, the worker killed with SIGKILL twice; prints lost/duplicated/...
chaos: $(STAMP)
	$(BIN)/python -m bench.chaos --pages 5000 --kills 2

clean:
	rm -rf $(FLEET_HOME)
