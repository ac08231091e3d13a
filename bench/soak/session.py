"""One soak session: deploy the HA registry on a throw-away stack, push sample images, start the pull
loop, run K maintenance rolls with one fault each, check every image still pulls, clean up.

Clean-up runs even when interrupted (Ctrl-C, SIGTERM): the pull loop stops, the active fault is undone
and every member healed and running, then the stack is destroyed and removed (harness.lab_stacks.lab_stack).
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.soak.faults import FaultPlan, LabActions, RollFault, undo_all
from cluster import logs
from cluster.connection import lxd_client
from cluster.facts import read_instances
from cluster.operations import execute
from cluster.retry import with_retries
from cluster.server_family import server_family
from cluster.steps import ensure_deleted, ensure_running, migration_under_way
from harness.lab_secrets import TLS_CERT, ensure_all, registry_login
from harness.lab_stacks import lab_stack, registry_overrides
from harness.pull_loop import PullLoop, pull_with_retry
from harness.registry_client import Image, RegistryAccess, Skopeo, pull_error
from harness.vip_probe import VipProbe
from lab.config import LabConfig
from lab.info import LabInfo
from ops.rolling import Options, Report, Roll, return_home
from ops.services import Service, registry_service
from ops.workloads import Scope
from toolchain.pulumi_cli import PulumiCli, PulumiError
from toolchain.stack_config import endpoint_from_stack, read_stack_config

log = logging.getLogger(__name__)

VIP, VRID, PREFIX = "10.91.0.247", 87, "soakreg"
STACK = "bench-soak"
ROOT_DIRECTORY = "/soak-registry"
REPOSITORY = "soak/sample"
HOST_STEP = "{python} -m lab fault restart-member {member}"
ROLL_BOUND_S = 3600  # the VIP probe of one roll never outlives this
PULL_INTERVAL_S = 0.5
PULL_LOOP_MAX_S = 4 * 3600  # the pull loop never outlives this, even if the soak forgets to stop it
PULL_JOIN_S = 2 * 120 + 10  # at most one pull and its retry are in flight when it stops



@dataclass(frozen=True)
class SoakSettings:
    rolls: int
    first_roll: int
    kinds: tuple[str, ...]
    scope: str  # "stack": the registry's containers; "managed": every container this project manages
    images: int
    gate_timeout_s: float
    log_dir: Path

    def scope_of(self) -> Scope:
        return Scope(prefix=f"{PREFIX}-") if self.scope == "stack" else Scope()


def _push_images(skopeo: Skopeo, work: Path, count: int) -> list[Image]:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    images = []
    for index in range(count):
        tag = f"{stamp}-{index}"
        digest = skopeo.push_sample(work / f"image-{index}", REPOSITORY, tag, f"soak image {tag} {time.time()}")
        images.append(Image(REPOSITORY, tag, digest))
    log.info(f"pushed {count} image(s): {', '.join(f'{i.tag} {i.digest[:19]}' for i in images)}")
    return images


def _roll_once(number: int, settings: SoakSettings, client: Any, lab: LabInfo, actions: LabActions,
               services: list[Service], clock_zero: float, heal: Callable[[], str]) -> dict[str, Any]:
    """One maintenance roll with its fault; the roll's lines go to the console and to its log file.
    Times in the entry count from the roll's start; `started_at_s` from `clock_zero` (the pulls' clock)."""
    started_at_s = round(time.monotonic() - clock_zero, 1)
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    plan = FaultPlan.for_roll(number, settings.kinds)
    log_path = settings.log_dir / f"roll-{number:02d}.log"
    reader = lab.lxd_client()  # the fault thread's own connection
    fault = RollFault(plan, actions, lambda name: migration_under_way(reader, name))
    # the roll's lines go to the console and its own log; the fault injector acts on them as they come
    with logs.also_to(logging.FileHandler(log_path, mode="w"), logs.Watcher(fault.hook)):
        log.info(f"roll {number}: fault plan: {plan.kind} at move {plan.move_index + 1}"
                 + (f" ({plan.side})" if plan.kind == "restart-during-move" else ""))
        options = Options(scope=settings.scope_of(), host_step=HOST_STEP, services=services,
                          gate_timeout_s=settings.gate_timeout_s)
        probe = VipProbe(f"https://{VIP}:5000/v2/", TLS_CERT.read_text(), max_s=ROLL_BOUND_S).start()
        try:
            report = Roll(client, options).run()
        except Exception as error:  # noqa: BLE001 - the roll's own reading of the cluster failed: a stopped roll
            report = Report(ok=False, stopped_at=f"before the first member: {type(error).__name__}: {error}")
            log.info(f"STOPPED before the first member: {error}")
        finally:
            fault.settle()
            gaps = probe.stop()
        entry: dict[str, Any] = {
            "roll": number, "started": started, "started_at_s": started_at_s, "ok": report.ok,
            "stopped_at": report.stopped_at,
            "members_done": report.members_done,
            "moves": sum(1 for m in report.moves if m.moved), "seconds": round(report.seconds, 1),
            "fault": fault.record.as_dict(), "longest_gap_s": round(gaps.longest_gap_s, 2),
            "vip_gaps": [[at, gap] for at, gap in zip(gaps.gap_starts, gaps.gaps, strict=True)],
            "log": log_path.name,
        }
        if not report.ok:
            _keep_cluster_state(client, lab, settings.log_dir / f"roll-{number:02d}-state.txt")
            entry["recovery"] = _recover(client, settings, actions)
            healed = heal()
            if healed:
                entry["recovery"] += f"; {healed}"
                log.info(healed)
        entry["leftover_copies"] = _leftover_copies(client)
        if entry["leftover_copies"]:
            log.info(f"left behind by an interrupted LXD move: {', '.join(entry['leftover_copies'])}")
    return entry


def _keep_vrrp_logs(client: Any, log_dir: Path) -> None:
    """Each replica's keepalived journal next to the roll logs: VIP gaps are read against its transitions."""
    for index in range(2):
        name = f"{PREFIX}-{index}"
        try:
            result = execute(client, name, ["journalctl", "-u", "keepalived", "--no-pager", "-o", "short-iso"],
                             timeout_s=60)
            (log_dir / f"keepalived-{name}.log").write_text(result.stdout)
        except Exception as error:  # noqa: BLE001 - evidence only; the soak's figures do not depend on it
            log.info(f"could not read {name}'s keepalived journal: {type(error).__name__}: {error}")


def _leftover_copies(client: Any) -> list[str]:
    """Copies an interrupted LXD move left of the soak's instances (`lxd-move-of-<uuid>`, our marks kept);
    Incus makes none."""
    prefix = server_family(client).move_copy_prefix
    return sorted(i.name for i in with_retries(lambda: read_instances(client), "list instances")
                  if prefix and i.name.startswith(prefix) and (i.owner or "").endswith(f"/{STACK}"))


def _keep_cluster_state(client: Any, lab: LabInfo, path: Path) -> None:
    """What a stopped roll left, for finding its cause: every instance, each member's pool directory
    (an interrupted move can leave a volume on disk) and the end of each member's LXD log."""
    lines = []
    try:
        for i in with_retries(lambda: read_instances(client), "list instances"):
            lines.append(f"instance {i.name} on {i.location}: {i.status}")
    except Exception as error:  # noqa: BLE001 - evidence only
        lines.append(f"cannot list instances: {error}")
    for member in lab.config.members:
        pool = member.lxd_dir / "storage-pools" / "default" / "containers"
        entries = sorted(p.name for p in pool.iterdir()) if pool.is_dir() else ["(no pool directory)"]
        lines.append(f"{member.name} pool containers/: {' '.join(entries)}")
        daemon_log = lab.config.server.log_file(member.lxd_dir)
        tail = daemon_log.read_text(errors="replace").splitlines()[-150:] if daemon_log.exists() else []
        lines += [f"--- {member.name} {daemon_log.name} (last {len(tail)} lines)", *tail]
    path.write_text("\n".join(lines) + "\n")
    log.info(f"cluster state kept in {path}")


def missing_replicas(present: set[str], expected: Sequence[str]) -> list[str]:
    """The stack's declared replicas (the registry gate's `expected`) the cluster does not have (LXD 5.0 can
    lose one when a move's target is cut off between deleting the original and renaming the copy)."""
    return sorted(set(expected) - present)


def _recover(client: Any, settings: SoakSettings, actions: LabActions) -> str:
    """After a stopped roll: every member healed and ONLINE, evacuated containers moved home and running."""
    try:
        repaired = undo_all(actions)
        moved = return_home(client, settings.scope_of())
        stopped = sorted(i.name for i in with_retries(lambda: read_instances(client), "list instances")
                         if settings.scope_of().includes(i.name, dict(i.config)) and not i.running)
        for name in stopped:  # every replica ran when the soak began: one stopped roll must not stop the next
            ensure_running(client, name)
        return (f"repaired: {', '.join(repaired) or 'nothing'}; moved home: {sum(1 for m in moved if m.moved)}; "
                f"started: {', '.join(stopped) or 'none'}")
    except Exception as error:  # noqa: BLE001 - recorded; the next roll's gate will say what is still wrong
        return f"recovery failed: {type(error).__name__}: {error}"


def _pull_figures(rolls: list[dict[str, Any]], loop: PullLoop) -> None:
    for entry in rolls:
        pulls = loop.of_phase(entry["roll"])
        entry["pulls"] = len(pulls)
        entry["retried_pulls"] = sum(1 for p in pulls if p.outcome == "retried")
        entry["failed_pulls"] = sum(1 for p in pulls if p.outcome == "failed")
        entry["pull_problems"] = [{"at_s": p.at_s, "tag": p.image.tag, "outcome": p.outcome, "error": p.error}
                                  for p in pulls if p.outcome != "ok"]


def _verify(skopeo: Skopeo, images: list[Image], work: Path) -> list[dict[str, Any]]:
    """Every image pushed before the soak, pulled once more (one retry, as the client does)."""
    checks = []
    for image in images:
        pull = pull_with_retry(lambda one: pull_error(skopeo, one, work / "verify"), image, clock_zero=0.0)
        checks.append({"tag": image.tag, "digest": image.digest, "pullable": pull.outcome != "failed",
                       "error": pull.error if pull.outcome == "failed" else ""})
    return checks


@contextlib.contextmanager
def _healed_on_exit(actions: LabActions) -> Iterator[None]:
    try:
        yield
    finally:
        try:
            undo_all(actions)
        except Exception as error:  # noqa: BLE001 - say it; the stack is still destroyed afterwards
            log.info(f"could not undo every fault: {type(error).__name__}: {error}")


def run_soak(settings: SoakSettings) -> dict[str, Any]:
    """The session's measurements as a JSON-ready document (rolls, pulls, images, clean-up)."""
    lab = LabInfo(LabConfig.resolve())
    actions = LabActions(lab.config)
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    document: dict[str, Any] = {"rolls": [], "images": [], "after": [], "pulls": [], "interrupted": False}
    undo_all(actions)  # start from a healthy lab
    ensure_all()
    overrides = registry_overrides(lab.data, prefix=PREFIX, vip=VIP, vrid=VRID, root_directory=ROOT_DIRECTORY)
    try:
        with lab_stack(STACK.removeprefix("bench-"), overrides, prefix="bench") as cli, _healed_on_exit(actions), \
                tempfile.TemporaryDirectory(prefix="lxdha-soak-") as scratch:
            started = time.monotonic()
            summary = cli.up_summary()
            document["up_s"] = round(time.monotonic() - started, 1)
            if summary.get("result") != "succeeded":
                document["error"] = f"pulumi up: {summary.get('result')}"
                return document
            log.info(f"stack {cli.stack} up in {document['up_s']}s")
            _measure(settings, cli, Path(scratch), lab, actions, document)
    except KeyboardInterrupt:
        document["interrupted"] = True
        log.info("interrupted: the stack was destroyed and every fault undone; writing the rolls measured so far")
    except PulumiError as error:
        document["error"] = "pulumi: " + " | ".join(str(error).strip().splitlines()[-6:])[-1500:]
    return document


def _measure(settings: SoakSettings, cli: PulumiCli, work: Path, lab: LabInfo, actions: LabActions,
             document: dict[str, Any]) -> None:
    """Images pushed, pull loop on, the rolls, then every image pulled once more (fills `document`)."""
    config = read_stack_config(cli.stack)
    user, password = registry_login()
    skopeo = Skopeo(RegistryAccess(f"{VIP}:5000", user, password, TLS_CERT.read_text()), work)
    images = _push_images(skopeo, work, settings.images)
    document["images"] = [{"tag": i.tag, "digest": i.digest} for i in images]
    service = registry_service(config)
    with lxd_client(endpoint_from_stack(config)) as client:
        def heal() -> str:
            """What the stopped gate tells the operator to do about a lost replica: `pulumi up` makes it again."""
            present = {i.name for i in with_retries(lambda: read_instances(client), "list instances")}
            missing = missing_replicas(present, service.expected if service else ())
            if not missing:
                return ""
            try:
                result = cli.up_summary().get("result")
            except PulumiError as error:
                result = f"failed: {' | '.join(str(error).strip().splitlines()[-3:])[-400:]}"
            return f"lost replica(s) {', '.join(missing)}: `pulumi up` {result}"

        loop = PullLoop(images, lambda image: pull_error(skopeo, image, work / "pulled"), interval_s=PULL_INTERVAL_S,
                        max_s=PULL_LOOP_MAX_S, join_s=PULL_JOIN_S).start()
        try:
            for number in range(settings.first_roll, settings.first_roll + settings.rolls):
                loop.phase = number  # each pull is attributed to the roll in progress when it started
                entry = _roll_once(number, settings, client, lab, actions, [service] if service else [],
                                   loop.started, heal)
                document["rolls"].append(entry)
                log.info(f"roll {number}: {'ok' if entry['ok'] else 'STOPPED: ' + str(entry['stopped_at'])} "
                    f"in {entry['seconds']}s; fault {entry['fault']['kind']} on {entry['fault']['member']}; "
                    f"longest VIP gap {entry['longest_gap_s']}s")
        finally:
            loop.stop()  # before anything is torn down: no pull fails because the soak ends
            _pull_figures(document["rolls"], loop)
            document["pulls"] = loop.pulls
            try:
                for name in _leftover_copies(client):  # the stack's destroy does not know them
                    ensure_deleted(client, name)
            except Exception as error:  # noqa: BLE001 - said; the lab's own teardown removes them too
                log.info(f"could not remove leftover move copies: {type(error).__name__}: {error}")
            _keep_vrrp_logs(client, settings.log_dir)
    document["after"] = _verify(skopeo, images, work)
