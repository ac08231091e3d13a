"""The migration, end to end on the lab: the old code creates a 2-replica HA registry stack, a client pulls
from it, `python -m ops.migrate` hands the stack to this code, a second `pulumi up` changes nothing, and
the stack is destroyed with this code. Every figure lands in one result document."""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
import yaml

from bench.migration.checkouts import DESTROY, OLD_COMMIT, UP, Checkout, old_checkout
from bench.migration.observe import compare, facts_json, push_samples, read_replica
from cluster.facts import read_instances
from cluster.images import delete_if_unused, read_alias, remove_alias
from cluster.polling import wait_until
from cluster.steps import ensure_deleted
from harness.lab_secrets import TLS_CERT, ensure_all, registry_login
from harness.lab_stacks import registry_overrides, stack_config
from harness.pull_loop import PullLoop, pull_with_retry
from harness.registry_client import RegistryAccess, Skopeo, pull_error
from harness.vip_probe import probing
from lab.info import LabInfo
from toolchain.pulumi_cli import ROOT, STATE_DIR, PulumiCli, change_counts

log = logging.getLogger(__name__)

STACK = "bench-migration"
PREFIX, VIP, VRID, S3_ROOT = "bnmig", "10.91.0.243", 83, "/bench-migration"
IMAGE_ALIAS = f"debian/{STACK}"
SAMPLES = 3
VIP_READY_S = 120
PULL_INTERVAL_S = 0.2
PULL_LOOP_MAX_S = 1800  # the pull loop never outlives this, even if the scenario forgets to stop it
PULL_JOIN_S = 300


class Clock:
    """Wall time of each named phase, in seconds."""

    def __init__(self) -> None:
        self.phases: dict[str, float] = {}

    def timed(self, name: str, action: Callable[[], Any]) -> Any:
        started = time.monotonic()
        try:
            return action()
        finally:
            self.phases[name] = round(time.monotonic() - started, 1)
            log.info(f"{name}: {self.phases[name]}s")


def stack_file_text(lab: LabInfo, ansible_dir: Path) -> str:
    """One stack file for both checkouts: the lab's config, this stack's registry (own prefix, VIP, VRID, S3
    root), the ansible roles at one path (the roles' path is an input of each playbook run, as it is for a
    stack upgraded in place), every `.state/` file under the shared state directory."""
    overrides = registry_overrides(lab.data, prefix=PREFIX, vip=VIP, vrid=VRID, root_directory=S3_ROOT,
                                   ansible_dir=str(ansible_dir))
    return yaml.safe_dump({"config": stack_config(STACK, overrides)}, sort_keys=False)


def wait_vip(timeout_s: float = VIP_READY_S) -> None:
    """Until the registry answers on the VIP (401: alive, asks for credentials)."""
    session = requests.Session()
    session.trust_env = False
    wait_until(lambda: session.get(f"https://{VIP}:5000/v2/", verify=str(TLS_CERT), timeout=2).status_code == 401,
               timeout_s=timeout_s, poll_s=1, what=f"the registry answering on its VIP {VIP}",
               not_yet=(requests.RequestException,))


def alias_target(client: Any, alias: str) -> str | None:
    live = read_alias(client, alias)
    return live["target"] if live else None


def run(work: Path, lab: LabInfo, commit: str | None = None) -> dict[str, Any]:
    """The whole scenario in `work` (a temporary directory; LXDHA_STATE_DIR points inside it)."""
    commit = commit or OLD_COMMIT
    clock = Clock()
    document: dict[str, Any] = {"schema": 1, "old_commit": commit, "stack": STACK, "status": "failed",
                                "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    ensure_all()
    document["swept_before"] = sweep(lab)  # what an interrupted earlier run left would be adopted otherwise
    ansible_dir = work / "ansible"
    text = stack_file_text(lab, ansible_dir)
    new = Checkout(ROOT)
    with old_checkout(work, commit) as old:
        shutil.copytree(old.path / "ansible", ansible_dir)  # the roles as they were when the stack was made
        old.write_stack_file(STACK, text)
        try:
            clock.timed("old checkout: make setup", old.setup)
            _migrate_under_load(document, clock, lab, old, new, work, ansible_dir)
        except Exception as error:  # noqa: BLE001 - recorded: the report says what failed, clean-up follows
            document["error"] = f"{type(error).__name__}: {error}"
            log.info(f"FAILED: {error}")
        finally:
            try:
                document["destroyed_with"] = clock.timed("destroy", lambda: _destroy(old, new))
            finally:
                document["left_behind"] = sweep(lab)
            (ROOT / f"Pulumi.{STACK}.yaml").unlink(missing_ok=True)
    document["seconds"] = clock.phases
    document["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return document


def upgraded_stack_file(text: str) -> str:
    """The stack file as the upgrade leaves it: the replicas keep the server they run (2.8, the
    distribution's package), so the migration is measured alone; moving to v3 is its own roll."""
    document = yaml.safe_load(text)
    registry = document["config"]["lxdha:registry"]
    registry["server"] = {"source": "distro"}
    return yaml.safe_dump(document, sort_keys=False)


def _upgrade_roles(ansible_dir: Path) -> None:
    """The checkout upgraded in place: the same roles path, this code's roles."""
    shutil.rmtree(ansible_dir)
    shutil.copytree(ROOT / "ansible", ansible_dir)


def _migrate_under_load(document: dict[str, Any], clock: Clock, lab: LabInfo, old: Checkout, new: Checkout,
                        work: Path, ansible_dir: Path) -> None:
    old_up = clock.timed("old code: pulumi up", lambda: old.driver(UP, STACK))
    document["old_up"] = {"result": old_up.get("result"), "changes": change_counts(old_up)}
    if old_up.get("result") != "succeeded":
        raise RuntimeError(f"the old code's pulumi up did not succeed: {old_up.get('result')}")
    new.write_stack_file(STACK, upgraded_stack_file(old.stack_file(STACK)))  # salt and secrets as they were
    _upgrade_roles(ansible_dir)
    cli = PulumiCli(ROOT, STACK)
    replicas = [replica["name"] for replica in cli.outputs()["registry"]["replicas"]]
    client = lab.lxd_client()
    clock.timed("VIP answers", wait_vip)
    user, password = registry_login()
    skopeo = Skopeo(RegistryAccess(f"{VIP}:5000", user, password, TLS_CERT.read_text()), work / "skopeo")
    pushed = clock.timed("push samples", lambda: push_samples(skopeo, work / "images", SAMPLES))
    document["pushed"] = [f"{p.repository}:{p.tag}@{p.digest}" for p in pushed]
    before = {name: read_replica(client, name) for name in replicas}
    image_before = alias_target(client, IMAGE_ALIAS)
    log.info(f"replicas before: {json.dumps(facts_json(before))}")
    with probing(f"https://{VIP}:5000/v2/", TLS_CERT.read_text()) as probe, \
            PullLoop(pushed, lambda image: pull_error(skopeo, image, work / "pulled"), interval_s=PULL_INTERVAL_S,
                     max_s=PULL_LOOP_MAX_S, join_s=PULL_JOIN_S) as loop:
        migrated = clock.timed("python -m ops.migrate", lambda: new.module("ops.migrate", "--stack", STACK, "--json"))
        report = json.loads(migrated.stdout.strip().splitlines()[-1]) if migrated.stdout.strip() else {}
        document["migrate"] = {"exit": migrated.returncode, **report}
        if migrated.returncode != 0 or not report.get("handed_over"):
            # no second up: with the old entries still in the state it would delete what they describe
            raise RuntimeError(f"ops.migrate exited {migrated.returncode}, handed over "
                               f"{report.get('handed_over')}: {migrated.stderr.strip()[-2000:]}")
        second = clock.timed("second pulumi up", cli.up_summary)
        document["second_up"] = {"result": second.get("result"), "changes": change_counts(second)}
    document["pull_loop"] = loop.summary()
    document["vip_probe"] = {"attempts": probe.result.attempts, "failures": probe.result.failures,
                             "longest_gap_s": round(probe.result.longest_gap_s, 2)}
    after = {name: read_replica(client, name) for name in replicas}
    document["replicas"] = {"before": facts_json(before), "after": facts_json(after)}
    document["containers"] = compare(before, after)
    document["image"] = {"alias": IMAGE_ALIAS, "before": image_before, "after": alias_target(client, IMAGE_ALIAS)}
    unpullable = [f"{p.repository}:{p.tag}" for p in pushed
                  if pull_with_retry(lambda one: pull_error(skopeo, one, work / "verify"), p, clock_zero=0.0).outcome
                  == "failed"]
    document["pulled_after"] = {"pushed": len(pushed), "unpullable": unpullable}
    document["backup_kept_under"] = str(STATE_DIR / "backups")
    document["status"] = "measured"


def _destroy(old: Checkout, new: Checkout) -> str:
    """With this code. A stack the migration never reached still holds the old dynamic resources, whose
    providers only the old checkout has: that one destroys it then. Never raises: clean-up goes on."""
    cli = PulumiCli(ROOT, STACK)
    if STACK not in cli.run("stack", "ls", "--json", check=False).stdout:
        return "nothing to destroy"
    if not (ROOT / f"Pulumi.{STACK}.yaml").exists():
        new.write_stack_file(STACK, old.stack_file(STACK))
    outcome = "new code"
    try:
        cli.destroy()
    except Exception as error:  # noqa: BLE001 - then the old code; what neither removes is swept
        log.info(f"destroy with the new code failed ({str(error)[-600:]}); trying the old code")
        try:
            old.driver(DESTROY, STACK)
            return "old code (the migration did not complete)"
        except Exception as again:  # noqa: BLE001
            log.info(f"destroy with the old code failed too ({str(again)[-600:]}); sweeping")
            outcome = "neither (swept)"
    cli.run("stack", "rm", "--yes", "--force", check=False)
    return outcome


def sweep(lab: LabInfo) -> list[str]:
    """Deletes (and names) what a failed run left: this stack's containers and image alias (the stack's
    state is gone with its temporary state directory)."""
    client = lab.lxd_client()
    owner = f"lxdha/{STACK}"
    left = [i.name for i in read_instances(client) if i.name.startswith(f"{PREFIX}-")]
    for name in left:
        ensure_deleted(client, name, owner)
    alias = read_alias(client, IMAGE_ALIAS)
    if alias is not None:
        left.append(f"alias {IMAGE_ALIAS}")
        remove_alias(client, IMAGE_ALIAS, owner)
        delete_if_unused(client, alias["target"])
    if left:
        log.info(f"left behind, now deleted: {', '.join(left)}")
    return left
