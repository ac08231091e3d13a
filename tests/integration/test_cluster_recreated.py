"""A stack outlives its cluster: after the lab's cluster is torn down and made again (new members' state,
new certificates, no containers, no images), the next `pulumi up` converges with no state surgery, and
a second one changes nothing. This is what `make demo` -> `make test` -> `make demo` does to the lab
stack (the test session brings the lab down at its end)."""

from __future__ import annotations

import pytest

from cluster.facts import read_instance
from lab.info import LabInfo
from lab.teardown import down
from lab.up import up
from tests.support.lab_stack import change_counts, lab_stack, ssh_run

pytestmark = pytest.mark.integration
NAMES = ("rb-0", "rb-1")


@pytest.mark.lab_rebuild
def test_after_the_cluster_is_recreated_the_next_up_converges(lab: LabInfo) -> None:
    with lab_stack("reborn", {"lxdha:containers": {"count": len(NAMES), "prefix": "rb"}}) as cli:
        assert cli.up_summary()["result"] == "succeeded"
        old_fingerprint = lab.data["lxd"]["server_fingerprint"]
        old_uuids = {name: read_instance(lab.lxd_client(), name)["config"]["volatile.uuid"] for name in NAMES}

        assert down(lab.config) == [], "the lab did not come down clean"
        up(lab.config)
        assert lab.data["lxd"]["server_fingerprint"] != old_fingerprint, "a re-created cluster has a new certificate"
        assert all(read_instance(lab.lxd_client(), name) is None for name in NAMES)

        converged = cli.up_summary()
        assert converged["result"] == "succeeded", converged
        client = lab.lxd_client()
        for name in NAMES:
            record = read_instance(client, name)
            assert record["status"] == "Running" and record["config"]["volatile.uuid"] != old_uuids[name]
        for container in cli.outputs()["containers"]:
            assert ssh_run(container["ipv4"], "true").returncode == 0, container
        assert change_counts(cli.up_summary()) == {}, "the up after convergence must change nothing"
