"""pytest plugin for tests against the real lab (register with `pytest_plugins = ["lab.pytest_plugin"]`).

Fixtures:
  lab          session: brings the lab up if needed, yields LabInfo; at session end brings it down
               and asserts nothing is left — unless LAB_KEEP=1.
  lab_faults   the fault helpers, each undone at test end (a cut member is healed, S3 restarted,
               a killed member restarted).
  lab_instances  factory `launch(name_suffix, target)` for containers named `lxdha-t-*`, deleted
               at test end.
With CI=true a missing prerequisite fails the test instead of skipping it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cluster.images import copy_image
from cluster.steps import ensure_deleted, ensure_launched
from lab import faults as lab_fault_ops
from lab.config import LabConfig
from lab.info import LabInfo
from lab.lease import lab_session
from lab.proc import LabError

TEST_PREFIX = "lxdha-t-"
IN_CI = os.environ.get("CI", "").lower() == "true"
KEEP = os.environ.get("LAB_KEEP", "") == "1"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "integration: needs the real lab cluster (lab/)")


_FIGURES: list[str] = []


def record_figure(line: str) -> None:
    """A figure a test measured (a gap, a count): printed together at the end of the session, so a
    CI log carries them without `-s`. Tests assert behaviour; the figures are for the reader."""
    _FIGURES.append(" ".join(line.split()) if "\n" not in line.strip() else line.strip())


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _FIGURES:
        terminalreporter.section("figures measured by the tests")
        for line in _FIGURES:
            terminalreporter.write_line(line)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that re-create the lab run after every other test: what they leave is a new lab, and a
    failure half-way must not become the failure of every test that follows."""
    items.sort(key=lambda item: item.get_closest_marker("lab_rebuild") is not None)  # stable: order kept otherwise


def lab_prerequisite(condition: bool, reason: str) -> None:
    """Skip locally when the machine cannot run the lab; in CI that is a failure, never a skip."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"prerequisite missing in CI: {reason}")
    pytest.skip(reason)


def _check_prerequisites() -> None:
    from lab.up import REQUIRED_TOOLS

    lab_prerequisite(os.geteuid() == 0, "the lab needs root")
    missing = sorted(tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None)
    lab_prerequisite(not missing, f"tools missing for the lab: {', '.join(missing)} (install lab/apt-packages.txt)")


@pytest.fixture(scope="session")
def lab() -> Iterator[LabInfo]:
    _check_prerequisites()
    from lab.teardown import down
    from lab.up import up

    config = LabConfig.resolve()
    with contextlib.ExitStack() as session:
        try:
            session.enter_context(lab_session(config.cache_dir, "a test session (pytest)"))
            info = up(config)
        except LabError as error:
            pytest.fail(f"lab up failed: {error}")
        yield info
        if KEEP:
            return
        problems = down(config)
        assert problems == [], f"lab down left things behind: {problems}"


class LabFaults:
    """Fault injection bound to one lab; records what it did so the fixture can undo it."""

    def __init__(self, info: LabInfo) -> None:
        self.config = info.config
        self._cut: set[str] = set()
        self._killed: set[str] = set()
        self._s3_stopped = False

    def kill_member(self, name: str) -> int:
        self._killed.add(name)
        return lab_fault_ops.kill_member(self.config, name)

    def restart_member(self, name: str, wait_online: bool = True) -> None:
        lab_fault_ops.restart_member(self.config, name, wait_online=wait_online)
        self._killed.discard(name)

    def cut_member(self, name: str) -> None:
        self._cut.add(name)
        lab_fault_ops.cut_member(self.config, name)

    def heal_member(self, name: str) -> None:
        lab_fault_ops.heal_member(self.config, name)
        self._cut.discard(name)

    def stop_s3(self) -> None:
        self._s3_stopped = True
        lab_fault_ops.stop_site_s3(self.config)

    def start_s3(self) -> None:
        lab_fault_ops.start_site_s3(self.config)
        self._s3_stopped = False

    def run_in_container(self, name: str, argv: list[str], timeout_s: float) -> subprocess.CompletedProcess:
        """A command in a container without LXD (which refuses on a cut-off member)."""
        return lab_fault_ops.run_in_container(name, argv, timeout_s)

    def member_status(self, name: str) -> str | None:
        return lab_fault_ops.member_status(self.config, name)

    def wait_member_status(self, name: str, status: str, timeout: float = 90) -> None:
        lab_fault_ops.wait_member_status(self.config, name, status, timeout)

    def undo(self) -> None:
        for name in sorted(self._cut):
            self.heal_member(name)
        for name in sorted(self._killed):
            self.restart_member(name)
        if self._s3_stopped:
            self.start_s3()


@pytest.fixture
def lab_faults(lab: LabInfo) -> Iterator[LabFaults]:
    helper = LabFaults(lab)
    try:
        yield helper
    finally:
        helper.undo()


@pytest.fixture
def lab_instances(lab: LabInfo) -> Iterator[Callable[[str, str], str]]:
    """launch(suffix, target) -> instance name; the image is copied from the lab's image remote
    into the cluster on first use, as the project's image component does."""
    client = lab.lxd_client()
    created: list[str] = []
    fingerprint: list[str] = []

    def launch(suffix: str, target: str) -> str:
        if not fingerprint:
            fingerprint.append(copy_image(client, lab.image())["fingerprint"])
        name = f"{TEST_PREFIX}{suffix}"
        ensure_deleted(client, name)  # a leftover from an interrupted run
        created.append(name)
        ensure_launched(client, name, fingerprint[0], target)
        return name

    yield launch
    for name in created:
        try:
            ensure_deleted(lab.lxd_client(), name)
        except LabError as error:  # keep deleting the others; the session teardown cleans up anyway
            print(f"could not delete {name}: {error}")
