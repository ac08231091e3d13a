# Two commands for a fresh machine: `make demo` and `make test`. Everything else is set-up they call.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
PY := .venv/bin/python
export PATH := $(CURDIR)/.tools/bin:$(CURDIR)/.venv/bin:$(PATH)
export PYTHONPATH := $(CURDIR)

.PHONY: setup demo test unit integration e2e lint lab-up lab-down lab-status bench clean-state

setup:  ## Debian packages, venv, Pulumi toolchain (built once, cached by version)
	@toolchain/setup.sh

demo: setup  ## lab up -> pulumi up (lab stack) -> push + pull through the VIP
	@$(PY) -m ops.demo

test: setup  ## everything: unit, e2e (standalone LXD), the lab suite (lab up once, down + clean check at the end)
	@echo "== toolchain"; $(PY) -m ops.toolchain_report
	@$(PY) -m pytest -p lab.pytest_plugin tests/unit tests/e2e tests/integration

unit: setup  ## quick: pure logic and set_mocks tests only
	@$(PY) -m pytest tests/unit -q

integration: setup  ## the real lab: up once per session, down + clean check at the end (LAB_KEEP=1 keeps it)
	@$(PY) -m pytest -p lab.pytest_plugin tests/integration

e2e: setup
	@$(PY) -m pytest tests/e2e

lint: setup
	@$(PY) -m ruff check .

lab-up: setup
	@$(PY) -m lab up

lab-down:
	@$(PY) -m lab down

lab-status:
	@$(PY) -m lab status

bench: setup
	@$(PY) -m bench

clean-state:  ## forget local Pulumi stacks (the lab's containers must be gone first)
	rm -rf .state
