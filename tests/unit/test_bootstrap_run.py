"""Running a bootstrap plan over LXD exec (fake LXD): one exec per step, the host key from the access step."""
# ruff: noqa: F811 - test parameters named after the imported fixtures

from __future__ import annotations

import logging

import pytest

from provisioners.bootstrap import BootstrapError, run_plan
from provisioners.bootstrap_plan import Mirror, bootstrap_plan
from tests.support.certs import TEST_PUBLIC_KEY
from tests.support.fake_fixtures import fake, no_waiting  # noqa: F401 - fixtures
from tests.support.fake_lxd import FakeLxd

HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfThisContainer root@web-0"
MIRROR = Mirror(url="http://10.91.0.30:9000/debian", signing_key="-----BEGIN PGP PUBLIC KEY BLOCK-----\nx\n")


def test_a_baked_container_is_one_exec_and_its_host_key_is_the_access_steps_output(
        fake: FakeLxd, caplog: pytest.LogCaptureFixture) -> None:
    fake.add_instance("web-0", "m1")
    ran: list[list[str]] = []
    fake.exec_handler = lambda _name, command: (ran.append(command), (0, HOST_KEY + "\n", ""))[1]
    with caplog.at_level(logging.INFO, logger="provisioners.bootstrap"):
        host_key = run_plan(fake.client(), "web-0", bootstrap_plan("debian", MIRROR, (TEST_PUBLIC_KEY,), baked=True))
    assert host_key == HOST_KEY and len(ran) == 1
    assert caplog.messages == ["[web-0] bootstrap 1/1: access"]  # the key itself is not echoed as step output


def test_a_failing_step_is_named_with_its_output(fake: FakeLxd) -> None:
    fake.add_instance("web-0", "m1")
    fake.exec_handler = lambda _name, _command: (1, "", "E: Unable to locate package openssh-server\n")
    with pytest.raises(BootstrapError) as raised:
        run_plan(fake.client(), "web-0", bootstrap_plan("debian", MIRROR, (TEST_PUBLIC_KEY,)))
    assert "'point-apt-at-mirror' failed in web-0 (exit 1)" in str(raised.value)
    assert "Unable to locate package" in str(raised.value)
