# Two commands for a fresh machine: `make demo` and `make test`. Everything else is set-up they call.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
PY := .venv/bin/python
export PATH := $(CURDIR)/.tools/bin:$(CURDIR)/.venv/bin:$(PATH)
export PYTHONPATH := $(CURDIR)

.PHONY: setup demo test test-incus unit integration e2e lint dist lab-up lab-down lab-status bench bench-postgres soak migration-demo clean-state maintenance rebalance host-check

setup:  ## Debian packages, venv, Pulumi toolchain (built once, cached by version)
	@toolchain/setup.sh

demo: setup  ## lab up -> pulumi up (lab stack) -> push + pull through the VIP
	@$(PY) -m harness.demo

# The lab suite's subset that runs on Incus too in `make test` (docs/servers.md says why these): the lab itself and
# its faults, the provider's drift/import/certificate rotation and breadth, a registry from Pulumi YAML through its
# VIP, a registry deploy with a maintenance roll under a pull loop, the bad-input table, the database leader killed
# during `up`.
INCUS_SUBSET ?= tests/integration/test_lab.py tests/integration/test_lxd_provider.py \
	tests/integration/test_provider_breadth.py tests/integration/test_yaml_registry.py \
	tests/integration/test_registry.py::test_replicas_on_different_members_and_vip_serves_pushes \
	tests/integration/test_registry.py::test_rolling_maintenance_of_every_member_keeps_pulls_working \
	tests/integration/test_bad_input.py \
	tests/integration/test_container_faults.py::test_leader_killed_and_restarted_during_up_is_ridden_out_without_duplicates

test: setup  ## everything: unit, e2e (standalone LXD), the lab suite on LXD, then its Incus subset (each lab up once, down + clean check)
	@echo "== toolchain"; $(PY) -m toolchain.report
	@$(PY) -m pytest -p lab.pytest_plugin tests/unit tests/e2e tests/integration
	@echo "== the lab on Incus 6.0: $(words $(INCUS_SUBSET)) test files/tests (make test-incus runs them all)"
	@LAB_BACKEND=incus $(PY) -m pytest -p lab.pytest_plugin $(INCUS_SUBSET)

test-incus: setup  ## the whole lab suite on an Incus 6.0 lab
	@LAB_BACKEND=incus $(PY) -m pytest -p lab.pytest_plugin tests/integration

unit: setup  ## quick: pure logic and set_mocks tests only
	@$(PY) -m pytest tests/unit -q

integration: setup  ## the real lab: up once per session, down + clean check at the end (LAB_KEEP=1 keeps it)
	@$(PY) -m pytest -p lab.pytest_plugin tests/integration

e2e: setup
	@$(PY) -m pytest tests/e2e

lint: setup
	@$(PY) -m ruff check .

dist: setup  ## dist/: the plugin archive (`pulumi plugin install resource lxd V --file`), the pulumi_lxd and provider wheels
	@$(PY) -m toolchain.dist

lab-up: setup
	@$(PY) -m lab up

lab-down:
	@$(PY) -m lab down

lab-status:
	@$(PY) -m lab status

bench: setup  ## the container benchmark, then the PostgreSQL cluster's figures (bench-postgres)
	@$(PY) -m bench
	@$(PY) -m bench.postgres

bench-postgres: setup  ## PostgreSQL only: serving time, pgbench via the VIP vs direct, failover, switchover gap
	@$(PY) -m lab up
	@$(PY) -m bench.postgres

ROLLS ?= 20
SOAK_ARGS ?=
soak: setup  ## benchmark, not part of test: ROLLS maintenance rolls of the running lab, a fault in each, pulls through the VIP
	@$(PY) -m bench.soak --rolls $(ROLLS) $(SOAK_ARGS)

migration-demo: setup  ## a stack made before the native provider, migrated (ops.migrate) under a registry pull loop
	@$(PY) -m lab up
	@$(PY) -m bench.migration

clean-state:  ## forget local Pulumi stacks (the lab's containers must be gone first)
	rm -rf .state

# Operations on a stack's cluster (README, "Operations"). STACK=lab by default; DRY_RUN=1 prints the plan only.
# In the lab the host step restarts the member's daemon and kernel parameters are read in its netns;
# on a real site set lxdha:operations.hostStep / sysctlReader in the stack config (or HOST_STEP=, SYSCTL_READER=).
STACK ?= lab
DRY_RUN ?= 0
OPS_ARGS ?=
ifeq ($(STACK),lab)
HOST_STEP ?= {python} -m lab fault restart-member {member}
SYSCTL_READER ?= ip netns exec lxdha-{member} sysctl -n {key}
endif
OPS_FLAGS = --stack $(STACK) $(if $(filter 1,$(DRY_RUN)),--dry-run)

maintenance: setup  ## rolling maintenance of every member (gates, evacuate, host step, restore)
	@$(PY) -m ops.maintenance $(OPS_FLAGS) $(if $(HOST_STEP),--host-step '$(HOST_STEP)') \
		$(if $(SYSCTL_READER),--sysctl-reader '$(SYSCTL_READER)') $(OPS_ARGS)

rebalance: setup  ## move only containers whose move restores anti-affinity or evens out the members
	@$(PY) -m ops.rebalance $(OPS_FLAGS) $(OPS_ARGS)

host-check: setup  ## the members' kernel parameters against what the services declare
	@$(PY) -m ops.host_check --stack $(STACK) $(if $(SYSCTL_READER),--sysctl-reader '$(SYSCTL_READER)') $(OPS_ARGS)
