# pinecone-autoimport — every target sets itself up from pyproject.toml.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1

.PHONY: venv demo test unit integration infra e2e campaigns lint format synth bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check uv==0.13.8
	@$(BIN)/uv pip install -q --python $(BIN)/python -e '.[dev]'
	@touch $(STAMP)

node_modules/.installed: package.json package-lock.json
	@npm ci --no-audit --no-fund --silent
	@touch $@

demo: venv
	@$(BIN)/autoimport demo

test: venv
	@$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

unit: venv
	@$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

integration: venv
	@$(BIN)/python -m pytest tests/integration $(PYTEST_ARGS)

infra: venv
	@$(BIN)/python -m pytest tests/infra $(PYTEST_ARGS)

e2e: venv
	@$(BIN)/python -m pytest tests/e2e $(PYTEST_ARGS)

CAMPAIGN_RESULTS := build/campaigns

campaigns: venv
	@rm -rf $(CAMPAIGN_RESULTS) && mkdir -p $(CAMPAIGN_RESULTS)
	@AUTOIMPORT_CAMPAIGN_REPORT=$(CURDIR)/$(CAMPAIGN_RESULTS) $(BIN)/python -m pytest -n 2 --dist loadgroup -m campaign $(PYTEST_ARGS); \
	status=$$?; $(BIN)/python -m tests.campaign_report $(CAMPAIGN_RESULTS) docs/campaigns.md && exit $$status

lint: venv
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy

format: venv
	@$(BIN)/ruff format .
	@$(BIN)/ruff check --fix .

synth: venv node_modules/.installed
	@PATH=$(CURDIR)/$(BIN):$$PATH npx --no-install cdk synth --quiet

bench: venv
	@$(BIN)/python -m bench

clean:
	rm -rf $(VENV) node_modules cdk.out .pytest_cache .mypy_cache .ruff_cache bench/results.json
