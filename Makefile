# WhatsApp Cloud API on AWS serverless - developer and CI entry points.
#
#   make test    venvs + lint + sam build + chromium + the tests (what CI runs through .ci/run)
#   make local   run the whole pipeline locally (moto as AWS, fake Graph API)
#
# Every target bootstraps what it needs from nothing (python3 >= 3.11 and PyPI) and is idempotent.
# The two venvs are kept apart on purpose: aws-sam-cli pins boto3 and (through aws-sam-translator)
# pydantic, which must not leak into the app/test venv.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

PYTHON ?= python3
VENV := .venv
VENV_SAM := .venv-sam
VENV_SCAN := .venv-scan
PIP_FLAGS ?= --quiet --disable-pip-version-check
PYTEST_ARGS ?=
# pytest-xdist workers: two per core, since many tests wait on moto, HTTP servers and pollers as much
# as they compute (PYTEST_WORKERS=0 runs the tests in this process, for a debugger).
PYTEST_WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) * 2 )))
# Coverage of the package, with its floor (pyproject.toml); `COVERAGE=` turns it off for a partial run.
COVERAGE ?= --cov --cov-report=term

# Stamp files live inside each venv and are named after a hash of the file that defines it (not
# its mtime, so a git checkout that only touches the file does not reinstall): a rerun with
# unchanged inputs installs nothing, a changed pyproject.toml / requirements-sam.txt reinstalls,
# and deleting a venv (or `make distclean`) starts over.
APP_KEY := $(shell cat pyproject.toml | sha256sum | cut -c1-16)
SAM_KEY := $(shell cat requirements-sam.txt | sha256sum | cut -c1-16)
SCAN_KEY := $(shell cat requirements-scan.txt | sha256sum | cut -c1-16)
APP_STAMP := $(VENV)/.deps-$(APP_KEY)
# The bench's extra on top of the app venv; cleared with the other stamps when the venv is reinstalled.
BENCH_STAMP := $(VENV)/.deps-bench-$(APP_KEY)
SAM_STAMP := $(VENV_SAM)/.deps-$(SAM_KEY)
SCAN_STAMP := $(VENV_SCAN)/.deps-$(SCAN_KEY)

OFFLINE := bash scripts/offline-env.sh
SAM := $(VENV_SAM)/bin/sam
CFN_LINT := $(VENV_SAM)/bin/cfn-lint

.PHONY: help venv venv-sam venv-scan venvs checks lint typecheck scan build browser unit soak test bench local events schema errors-doc clean distclean

help:
	@echo "make test       venv + venv-sam + lint + typecheck + scan + build + browser + unit (the CI command)"
	@echo "make venv       app/test venv .venv (pip install -e '.[dev]')"
	@echo "make venv-sam   SAM CLI + cfn-lint venv .venv-sam (requirements-sam.txt)"
	@echo "make checks     venvs, then lint + typecheck + scan + build side by side"
	@echo "make lint       ruff, sam validate --lint, cfn-lint (+ serverless rules)"
	@echo "make typecheck  mypy, strict, on the package (pyproject.toml [tool.mypy])"
	@echo "make scan       checkov: template.yaml and committed secrets (.checkov.yaml, venv .venv-scan)"
	@echo "make build      sam build (python3.13, arm64; needs python3.13 and PyPI)"
	@echo "make browser    Debian's chromium for the chat view test (apt, as root; else a hint)"
	@echo "make unit       pytest with the coverage floor, two workers per core (PYTEST_ARGS=... COVERAGE= for a part)"
	@echo "make soak       the long runs: the fault soak on both transports, with its figures, and the full contract fuzz (about 12 minutes; make unit leaves them out)"
	@echo "make local      run the pipeline locally (python -m wacloud.local)"
	@echo "make bench      measure speed, size and cost beside baselines (bench/results.json, docs/PERFORMANCE.md)"
	@echo "make events     regenerate the sample events in events/"
	@echo "make schema     regenerate schemas/outbound-message.schema.json"
	@echo "make errors-doc regenerate the error table in docs/ERRORS.md"
	@echo "make clean      remove build output and caches; distclean also removes the venvs"

venv: $(APP_STAMP)

$(APP_STAMP):
	@if ! $(VENV)/bin/python -c '' 2>/dev/null; then \
	  echo "creating $(VENV) with $$($(PYTHON) --version)"; \
	  rm -rf $(VENV); $(PYTHON) -m venv $(VENV); \
	fi
	rm -f $(VENV)/.deps-*
	$(VENV)/bin/python -m pip install $(PIP_FLAGS) -e '.[dev]'
	touch $@

venv-sam: $(SAM_STAMP)

$(SAM_STAMP):
	@if ! $(VENV_SAM)/bin/python -c '' 2>/dev/null; then \
	  echo "creating $(VENV_SAM) with $$($(PYTHON) --version)"; \
	  rm -rf $(VENV_SAM); $(PYTHON) -m venv $(VENV_SAM); \
	fi
	rm -f $(VENV_SAM)/.deps-*
	$(VENV_SAM)/bin/python -m pip install $(PIP_FLAGS) -r requirements-sam.txt
	touch $@

venv-scan: $(SCAN_STAMP)

$(SCAN_STAMP):
	@if ! $(VENV_SCAN)/bin/python -c '' 2>/dev/null; then \
	  echo "creating $(VENV_SCAN) with $$($(PYTHON) --version)"; \
	  rm -rf $(VENV_SCAN); $(PYTHON) -m venv $(VENV_SCAN); \
	fi
	rm -f $(VENV_SCAN)/.deps-*
	$(VENV_SCAN)/bin/python -m pip install $(PIP_FLAGS) -r requirements-scan.txt
	touch $@

lint: venv venv-sam
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(OFFLINE) $(SAM) validate --lint --template-file template.yaml
	$(OFFLINE) $(CFN_LINT) template.yaml
	$(OFFLINE) $(CFN_LINT) --append-rules cfn_lint_serverless.rules -- template.yaml

typecheck: venv
	$(VENV)/bin/mypy

# Every finding fails the run unless .checkov.yaml skips it, with its reason in docs/SECURITY.md.
scan: venv-scan
	$(OFFLINE) $(VENV_SCAN)/bin/checkov --config-file .checkov.yaml

build: venv-sam
	bash scripts/sam-build.sh $(SAM)

# The chat view's test drives Debian's Chromium through Playwright (browsers are not downloaded).
browser:
	@if command -v chromium >/dev/null 2>&1; then \
	  echo "chromium: $$(command -v chromium)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian's chromium for the chat view test"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -q chromium >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }; \
	else \
	  echo "no chromium and no root to install it: the chat view test is skipped (sudo apt-get install chromium)"; \
	fi

unit: venv
	$(VENV)/bin/python -m pytest -n $(PYTEST_WORKERS) --dist worksteal -m "not soak" $(COVERAGE) $(PYTEST_ARGS)

# The long runs (marked `soak`): hundreds of documents and webhooks under every fault at once on both
# transports (tests/faults/test_soak.py), and the contract fuzz with schemathesis's coverage phase on
# POST /messages (about 3,000 requests): minutes, so not part of `make unit`; -s shows the figures.
soak: venv
	$(VENV)/bin/python -m pytest -m soak -s -p no:randomly tests/faults $(PYTEST_ARGS)

# `make test` in three steps, each a sub-make: the three virtualenvs side by side (they share
# nothing: a fresh clone makes them in about a third of the time), then the checks side by side (lint,
# types, the IaC scan and sam build read the tree and write their own caches), then the unit tests
# last, so that pytest's summary line is the last thing a CI log shows. (A `.NOTPARALLEL:` here kept
# every sub-make serial, whatever its -j.)
venvs:
	$(MAKE) -j3 venv venv-sam venv-scan

checks: venvs
	$(MAKE) -j4 --output-sync=target lint typecheck scan build

test:
	$(MAKE) checks
	$(MAKE) browser unit

local: venv
	$(VENV)/bin/python -m wacloud.local

# Not part of `make test`: figures, not pass/fail. The package sizes come from `make build`'s output.
bench: $(BENCH_STAMP) build
	$(VENV)/bin/python -m bench.run

# pywa, the typed parse's baseline (pyproject.toml's `bench` extra), only in the venv that `make bench` uses.
$(BENCH_STAMP): $(APP_STAMP)
	$(VENV)/bin/python -m pip install $(PIP_FLAGS) -e '.[dev,bench]'
	touch $@

events: venv
	$(VENV)/bin/python scripts/make_events.py

schema: venv
	$(VENV)/bin/python scripts/generate_schema.py

errors-doc: venv
	$(VENV)/bin/python scripts/generate_errors_doc.py

clean:
	rm -rf .aws-sam .pytest_cache .ruff_cache .mypy_cache .hypothesis build test-artifacts .coverage .coverage.*
	find . -path ./$(VENV) -prune -o -path ./$(VENV_SAM) -prune -o \
	  -type d -name __pycache__ -print0 | xargs -0 rm -rf

distclean: clean
	rm -rf $(VENV) $(VENV_SAM) $(VENV_SCAN)
