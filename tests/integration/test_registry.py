"""HARegistry on the lab, with real clients: the OCI conformance suite through the VIP, a multi-arch
index and a large push across a failover, TLS + auth, no split brain, rolling re-apply with the VIP
up, replica replacement without blob loss, maintenance and faults under a pull loop; and, on a stack
of its own, the roll from Debian's docker-registry 2.8 to the pinned v3 build and a destroy that keeps
the blobs in S3.

The module's stack is deployed once (an up takes a while); before each test every replica runs and
the registry answers, so any one test runs alone (`pytest -k <name>`) from a deployed stack.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from cluster.operations import OperationFailed, execute
from cluster.polling import holds_within, wait_until
from cluster.steps import ensure_running, ensure_stopped
from config.registry import DEFAULT_SERVER_VERSION
from harness.lab_secrets import TLS_CERT, ensure_all, registry_login
from harness.lab_stacks import config_value, registry_overrides, set_config
from harness.oci_layout import MANIFEST, build_large_image, build_multi_arch_index, build_sample_image
from harness.pull_loop import PullLoop
from harness.registry_client import Image, RegistryAccess, Skopeo, digest_error
from harness.vip_probe import probing
from lab.info import LabInfo
from lab.pytest_plugin import record_figure
from ops.services import VRRP_STATE_FILE, registry_service
from tests.support.lab_stack import change_counts, lab_stack
from toolchain.conformance import run_suite
from toolchain.go_tools import CONFORMANCE, ensure_built
from toolchain.pulumi_cli import PulumiCli
from toolchain.stack_config import read_stack_config

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
VIP = "10.91.0.241"
PREFIX = "itreg"
ROOT_DIRECTORY = "/it-registry"
FAILOVER_WINDOW_S = 15  # generous: the VRRP master-down interval is ~1.1 s; this bounds the test only
LARGE_LAYER_BYTES = 200 * 1024 * 1024  # >= 200 MB, random: nothing compresses it away
REGISTRY_KEY = "lxdha:registry"


def _registry_config(lab: LabInfo, ansible_dir: Path, *, prefix: str = PREFIX, vip: str = VIP, vrid: int = 61,
                     root_directory: str = ROOT_DIRECTORY, server: dict | None = None) -> dict:
    overrides = registry_overrides(lab.data, prefix=prefix, vip=vip, vrid=vrid, root_directory=root_directory,
                                   ansible_dir=str(ansible_dir))
    if server is not None:
        overrides[REGISTRY_KEY]["server"] = server
    return overrides


@pytest.fixture(scope="module")
def ansible_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("registry") / "ansible"
    shutil.copytree(Path(__file__).resolve().parents[2] / "ansible", copy)
    return copy


@pytest.fixture(scope="module")
def stack(lab: LabInfo, ansible_dir: Path) -> Iterator[PulumiCli]:
    """The registry on the pinned v3 build, deployed once for the module."""
    ensure_all()
    with lab_stack("registry", _registry_config(lab, ansible_dir)) as cli:
        summary = cli.up_summary()
        assert summary["result"] == "succeeded", summary
        yield cli


@pytest.fixture(autouse=True)
def replicas_serving(request: pytest.FixtureRequest, lab: LabInfo) -> None:
    """Each test starts from the deployed stack with every replica running and ready (an earlier test
    may have stopped one, or failed half-way)."""
    if "stack" not in request.fixturenames:
        return
    stack = request.getfixturevalue("stack")
    client = lab.lxd_client()
    for replica in _replicas(stack):
        ensure_running(client, replica["name"])
    _wait_replicas_ready(stack)


@pytest.fixture(scope="module")
def skopeo(stack: PulumiCli, tmp_path_factory: pytest.TempPathFactory) -> Skopeo:
    user, password = registry_login()
    return Skopeo(RegistryAccess(f"{VIP}:5000", user, password, TLS_CERT.read_text()),
                  tmp_path_factory.mktemp("skopeo"))


@pytest.fixture(scope="module")
def pushed(skopeo: Skopeo, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One image pushed through the VIP before any fault; later tests pull it again."""
    layout = tmp_path_factory.mktemp("image") / "oci"
    build_sample_image(layout, f"registry test {time.time()}")
    result = skopeo.push(layout, "it/sample", "v1")
    assert result.returncode == 0, result.stderr
    digest = skopeo.digest("it/sample", "v1")
    assert digest.returncode == 0, digest.stderr
    return {"repository": "it/sample", "tag": "v1", "digest": digest.stdout.strip()}


def _replicas(stack: PulumiCli) -> list[dict[str, str]]:
    return stack.outputs()["registry"]["replicas"]


def _vip_holders(lab: LabInfo, replicas: list[dict[str, str]]) -> list[str]:
    client = lab.lxd_client()
    holders = []
    for replica in replicas:
        try:
            result = execute(client, replica["name"], ["ip", "-4", "-o", "addr", "show", "dev", "eth0"],
                             timeout_s=20)
        except Exception:  # noqa: BLE001 - a stopped replica holds nothing
            continue
        if f" {VIP}/" in result.stdout:
            holders.append(replica["name"])
    return holders


def _wait_single_holder(lab: LabInfo, replicas: list[dict[str, str]], timeout: float = 20) -> str:
    def single() -> str | None:
        holders = _vip_holders(lab, replicas)
        return holders[0] if len(holders) == 1 else None

    return wait_until(single, timeout_s=timeout, poll_s=0.5, what="exactly one replica holding the VIP")


def test_replicas_on_different_members_and_vip_serves_pushes(stack: PulumiCli, pushed: dict[str, str]) -> None:
    replicas = _replicas(stack)
    assert len({replica["member"] for replica in replicas}) == len(replicas) == 2
    assert pushed["digest"].startswith("sha256:")


def _pull_loop(skopeo: Skopeo, images: list[dict[str, str]]) -> PullLoop:
    """A client inspecting known digests through the VIP in a loop; one retry per pull."""
    return PullLoop([Image(**image) for image in images], lambda image: digest_error(skopeo, image),
                    interval_s=0.3, max_s=1800, join_s=60)


def _push(skopeo: Skopeo, tmp_path: Path, tag: str) -> dict[str, str]:
    build_sample_image(tmp_path / tag, f"{tag} {time.time()}")
    assert skopeo.push(tmp_path / tag, "it/sample", tag).returncode == 0
    return {"repository": "it/sample", "tag": tag, "digest": skopeo.digest("it/sample", tag).stdout.strip()}


def _server_version(lab: LabInfo, replica: str) -> str:
    """What the replica's registry says it is: the pinned build's version, or `2.8` for the package."""
    probe = ("systemctl is-active -q distribution-registry && "
             "/usr/local/lib/distribution-registry/registry-* --version; "
             "dpkg-query -W -f='docker-registry ${Version}' docker-registry 2>/dev/null; true")
    return execute(lab.lxd_client(), replica, ["sh", "-c", probe], timeout_s=30).stdout.strip()


ROLL_PREFIX, ROLL_VIP, ROLL_VRID, ROLL_ROOT = "itroll", "10.91.0.242", 62, "/it-registry-roll"


def test_roll_from_2_8_to_v3_under_a_pull_loop_then_destroy_keeps_the_blobs(lab: LabInfo, ansible_dir: Path,
                                                                           tmp_path: Path) -> None:
    """A stack of its own: deployed with Debian's docker-registry 2.8 (the role's `distro` source), rolled
    one replica at a time to the pinned v3 build while a client pulls, then destroyed."""
    ensure_all()
    config = _registry_config(lab, ansible_dir, prefix=ROLL_PREFIX, vip=ROLL_VIP, vrid=ROLL_VRID,
                              root_directory=ROLL_ROOT, server={"source": "distro"})
    with lab_stack("registry-roll", config) as stack:
        assert stack.up_summary()["result"] == "succeeded"
        user, password = registry_login()
        skopeo = Skopeo(RegistryAccess(f"{ROLL_VIP}:5000", user, password, TLS_CERT.read_text()), tmp_path / "skopeo")
        replicas = [replica["name"] for replica in _replicas(stack)]
        assert all("docker-registry 2.8" in _server_version(lab, name) for name in replicas)
        images = [_push(skopeo, tmp_path, "before-v3-a"), _push(skopeo, tmp_path, "before-v3-b")]
        registry = config_value(stack, REGISTRY_KEY)
        registry.pop("server")  # back to the default: the pinned build from the mirror
        set_config(stack, REGISTRY_KEY, registry)
        started = time.monotonic()
        with _pull_loop(skopeo, images) as loop, probing(f"https://{ROLL_VIP}:5000/v2/", TLS_CERT.read_text()) as probe:
            summary = stack.up_summary()
        record_figure(f"registry roll 2.8 -> {DEFAULT_SERVER_VERSION}: {time.monotonic() - started:.0f}s, "
                      f"{len(loop.pulls)} pulls, {loop.retried} retried, {len(loop.failed)} failed; VIP longest gap "
                      f"{probe.result.longest_gap_s:.2f}s; {len(images)} digests checked")
        assert summary["result"] == "succeeded", summary
        assert change_counts(summary) == {"update": 2}, summary["resourceChanges"]
        assert loop.pulls and loop.failed == [], loop.failed
        for image in images:  # a full pull: skopeo checks every blob's digest
            pulled = skopeo.pull(image["repository"], image["tag"], tmp_path / f"after-{image['tag']}")
            assert pulled.returncode == 0, pulled.stderr
            assert skopeo.digest(image["repository"], image["tag"]).stdout.strip() == image["digest"]
        for name in replicas:
            assert _server_version(lab, name).endswith(DEFAULT_SERVER_VERSION), f"{name} does not run the pinned build"
            assert "docker-registry" not in _server_version(lab, name), f"{name} still has the 2.8 package"
        stack.destroy()
        names = {instance.name for instance in lab.lxd_client().instances.all()}
        assert not set(replicas) & names
        assert _stored_objects(lab, ROLL_ROOT) > 0, "the registry's blobs must survive a destroy"


def _stored_objects(lab: LabInfo, root_directory: str) -> int:
    listed = lab.s3_client().list_objects_v2(Bucket=lab.data["s3"]["buckets"]["registry"],
                                            Prefix=root_directory.strip("/") + "/", MaxKeys=5)
    return int(listed.get("KeyCount", 0))


def test_reup_changes_nothing(stack: PulumiCli) -> None:
    assert change_counts(stack.up_summary()) == {}


def test_anonymous_access_is_refused(skopeo: Skopeo, pushed: dict[str, str], tmp_path: Path) -> None:
    build_sample_image(tmp_path / "oci", "anonymous")
    refused = skopeo.push(tmp_path / "oci", "it/anonymous", "v1", anonymous=True)
    assert refused.returncode != 0 and "unauthorized" in refused.stderr.lower(), refused.stderr
    inspect = skopeo.digest(pushed["repository"], pushed["tag"], anonymous=True)
    assert inspect.returncode != 0, "an anonymous read must be refused too"


def test_oci_conformance_suite_through_the_vip(stack: PulumiCli, tmp_path: Path) -> None:
    user, password = registry_login()
    result = run_suite(ensure_built(CONFORMANCE), f"{VIP}:5000", user, password, TLS_CERT, tmp_path)
    record_figure("OCI conformance through the VIP: " + result.summary())
    assert result.problems() == [], result.output[-3000:]
    assert password not in (tmp_path / "results" / "report.html").read_text(), "the report must not hold the login"


def test_multi_arch_index_round_trip(skopeo: Skopeo, tmp_path: Path) -> None:
    index, manifests = build_multi_arch_index(tmp_path / "multi", f"multi-arch {time.time()}")
    pushed = skopeo.push(tmp_path / "multi", "it/multi", "v1", all_images=True)
    assert pushed.returncode == 0, pushed.stderr
    served = skopeo.raw_manifest("it/multi", "v1")
    assert served.returncode == 0, served.stderr
    assert f"sha256:{hashlib.sha256(served.stdout.encode()).hexdigest()}" == index.digest, "the index was rewritten"
    assert {entry["platform"]["architecture"]: entry["digest"] for entry in json.loads(served.stdout)["manifests"]}\
        == {arch: manifest.digest for arch, manifest in manifests.items()}
    pulled = skopeo.pull("it/multi", "v1", tmp_path / "pulled", all_images=True)
    assert pulled.returncode == 0, pulled.stderr
    assert json.loads((tmp_path / "pulled" / "index.json").read_text())["manifests"][0]["digest"] == index.digest
    for manifest in manifests.values():
        assert (tmp_path / "pulled" / "blobs" / "sha256" / manifest.digest.split(":")[1]).exists()


class BlobWatch:
    """HEADs one blob and one manifest through the VIP in a loop, recording what was served: a blob
    that answers 200 must be whole (its full size), and the manifest may only appear after it."""

    def __init__(self, user: str, password: str, repository: str, tag: str, layer: str, size: int) -> None:
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.auth, self.session.verify = (user, password), str(TLS_CERT)
        base = f"https://{VIP}:5000/v2/{repository}"
        self.blob_url, self.manifest_url, self.size = f"{base}/blobs/{layer}", f"{base}/manifests/{tag}", size
        self.seen: list[tuple[str, int, str]] = []  # (what, status, content length or error)
        self.problems: list[str] = []
        self.blob_whole = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _head(self, what: str, url: str) -> int:
        try:
            response = self.session.head(url, timeout=2, headers={"Accept": MANIFEST})
        except requests.RequestException as error:
            self.seen.append((what, 0, error.__class__.__name__))
            return 0
        self.seen.append((what, response.status_code, response.headers.get("Content-Length", "")))
        return response.status_code

    def _loop(self) -> None:
        deadline = time.monotonic() + 900
        while not self._stop.is_set() and time.monotonic() < deadline:
            if self._head("blob", self.blob_url) == 200:
                length = self.seen[-1][2]
                if length != str(self.size):
                    self.problems.append(f"blob served with Content-Length {length}, not {self.size}")
                self.blob_whole.set()
            if self._head("manifest", self.manifest_url) == 200 and not self.blob_whole.is_set():
                self.problems.append("the manifest was served before its layer")
            time.sleep(0.2)

    def __enter__(self) -> BlobWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def _bytes_received(lab: LabInfo, name: str) -> int:
    state = lab.lxd_client().api.instances[name].state.get().json()["metadata"]
    return int(state["network"]["eth0"]["counters"]["bytes_received"])


def _stored_size(lab: LabInfo, digest: str) -> int:
    """Size of the blob's data object in the registry's bucket (0 when there is none)."""
    client = lab.s3_client()
    algorithm, hexdigest = digest.split(":")
    key = f"{ROOT_DIRECTORY.strip('/')}/docker/registry/v2/blobs/{algorithm}/{hexdigest[:2]}/{hexdigest}/data"
    try:
        return int(client.head_object(Bucket=lab.data["s3"]["buckets"]["registry"], Key=key)["ContentLength"])
    except client.exceptions.ClientError:
        return 0


def test_large_push_completes_across_a_master_failover_and_nothing_half_written_is_served(
        lab: LabInfo, stack: PulumiCli, skopeo: Skopeo, pushed: dict[str, str], tmp_path: Path) -> None:
    manifest, layer = build_large_image(tmp_path / "large", LARGE_LAYER_BYTES, seed=int(time.time()))
    tag = f"v{time.time_ns()}"  # a tag of this run's own: the bucket keeps earlier runs' manifests
    replicas = _replicas(stack)
    master = _wait_single_holder(lab, replicas)
    client = lab.lxd_client()
    user, password = registry_login()
    attempts: list[tuple[float, float, int, str]] = []  # (started, ended, returncode, stderr tail)

    def push_with_one_retry() -> None:
        for _ in range(2):  # the client's retry after the failover cut its connection
            started = time.monotonic()
            result = skopeo.push(tmp_path / "large", "it/large", tag, timeout=600)
            attempts.append((started, time.monotonic(), result.returncode, result.stderr[-400:]))
            if result.returncode == 0:
                return

    baseline = _bytes_received(lab, master)
    pusher = threading.Thread(target=push_with_one_retry, daemon=True)
    with BlobWatch(user, password, "it/large", tag, layer.digest, layer.size) as watch, \
            probing(f"https://{VIP}:5000/v2/", TLS_CERT.read_text()) as probe:
        pusher.start()
        def uploading() -> bool:  # the upload is under way
            assert pusher.is_alive(), f"the push ended before {master} was stopped: {attempts}"
            return _bytes_received(lab, master) - baseline >= layer.size // 8

        wait_until(uploading, timeout_s=300, poll_s=0.1, what=f"an eighth of the layer received by {master}")
        received = _bytes_received(lab, master) - baseline
        stopped_at = time.monotonic()
        ensure_stopped(client, master, force=True)
        pusher.join(timeout=900)
        watch.blob_whole.wait(timeout=30)  # keep watching until the pushed blob is served
    record_figure(f"large push ({layer.size / 1e6:.0f} MB) across a failover: master {master} stopped "
                  f"{stopped_at - attempts[0][0]:.1f}s into the push ({received / 1e6:.0f} MB received); attempts "
                  f"{[(round(end - start, 1), code) for start, end, code, _ in attempts]}; VIP longest gap "
                  f"{probe.result.longest_gap_s:.2f}s; {len(watch.seen)} HEADs, statuses "
                  f"{sorted({(what, status) for what, status, _ in watch.seen})}")
    assert attempts and attempts[-1][2] == 0, f"the push did not complete: {attempts}"
    assert len(attempts) == 2 and attempts[0][2] != 0, f"the failover must cut the first attempt: {attempts}"
    assert watch.problems == [], watch.problems
    assert watch.blob_whole.is_set(), "the pushed layer was never served through the VIP"
    assert _stored_size(lab, layer.digest) == layer.size, "the stored blob must be whole"
    assert skopeo.digest("it/large", tag).stdout.strip() == manifest.digest
    digest = hashlib.sha256()
    with watch.session.get(watch.blob_url, stream=True, timeout=300) as response:
        assert response.status_code == 200
        for block in response.iter_content(1 << 20):
            digest.update(block)
    assert f"sha256:{digest.hexdigest()}" == layer.digest, "the served layer is not what was pushed"
    assert skopeo.digest(pushed["repository"], pushed["tag"]).stdout.strip() == pushed["digest"]
    assert _wait_single_holder(lab, replicas) != master


def _vrrp_states(lab: LabInfo, replicas: list[dict[str, str]]) -> dict[str, str]:
    """Each replica's VRRP state as its keepalived last recorded it ("" while it has none)."""
    client = lab.lxd_client()
    states = {}
    for replica in replicas:
        try:
            states[replica["name"]] = execute(client, replica["name"], ["cat", VRRP_STATE_FILE],
                                              timeout_s=20).stdout.strip()
        except Exception:  # noqa: BLE001 - stopped, or no state yet
            states[replica["name"]] = ""
    return states


def _keepalived_pids(lab: LabInfo, name: str) -> set[str]:
    return set(execute(lab.lxd_client(), name, ["pidof", "keepalived"], timeout_s=20).stdout.split())


def test_keepalived_killed_on_master_leaves_exactly_one_holder(lab: LabInfo, stack: PulumiCli) -> None:
    replicas = _replicas(stack)
    # every keepalived has joined (a replica restarted by the test before rejoins as BACKUP: nopreempt)
    def joined() -> bool:
        states = list(_vrrp_states(lab, replicas).values())
        return states.count("MASTER") == 1 and set(states) <= {"MASTER", "BACKUP"}

    wait_until(joined, timeout_s=60, poll_s=0.5, what="one MASTER replica, every other one BACKUP")
    master = _wait_single_holder(lab, replicas)
    killed = _keepalived_pids(lab, master)
    execute(lab.lxd_client(), master, ["pkill", "-9", "-x", "keepalived"], timeout_s=20)
    wait_until(lambda: bool(_keepalived_pids(lab, master)) and not _keepalived_pids(lab, master) & killed,
               timeout_s=30, poll_s=0.2, what=f"systemd starting keepalived on {master} again",
               not_yet=(OperationFailed,))
    holds_within(lambda: len(_vip_holders(lab, replicas)) == 1, timeout_s=15)
    holders = _vip_holders(lab, replicas)
    assert len(holders) == 1, f"split brain after kill -9 of keepalived on {master}: {holders}"


def test_rolling_reapply_keeps_pulls_working(lab: LabInfo, stack: PulumiCli, skopeo: Skopeo,
                                            pushed: dict[str, str], ansible_dir: Path) -> None:
    """The replicas are reconfigured one at a time: a client (one retry per pull) never fails."""
    template = ansible_dir / "roles" / "registry" / "templates" / "config.yml.j2"
    template.write_text(template.read_text() + f"# re-applied by a test at {time.time_ns()}\n")  # a new config.yml
    with _pull_loop(skopeo, [pushed]) as loop, probing(f"https://{VIP}:5000/v2/", TLS_CERT.read_text()) as probe:
        summary = stack.up_summary()
    record_figure(f"registry rolling re-apply: {len(loop.pulls)} pulls, {loop.retried} retried, {len(loop.failed)} "
                  f"failed; {probe.result.failures}/{probe.result.attempts} probes failed, longest gap "
                  f"{probe.result.longest_gap_s:.2f}s")
    assert change_counts(summary) == {"update": 2}, summary["resourceChanges"]
    assert loop.pulls and loop.failed == [], loop.failed


def _uuid(lab: LabInfo, name: str) -> str | None:
    """The container's volatile.uuid as the cluster reports it now (None when it does not exist)."""
    try:
        return lab.lxd_client().api.instances[name].get().json()["metadata"]["config"].get("volatile.uuid")
    except Exception:  # noqa: BLE001 - not found
        return None


def test_replaced_replica_loses_no_blob(lab: LabInfo, stack: PulumiCli, skopeo: Skopeo, pushed: dict[str, str],
                                        tmp_path: Path) -> None:
    urn = next(resource["urn"] for resource in json.loads(stack.exported_state())["deployment"]["resources"]
               if resource["urn"].endswith(f"::{PREFIX}-0-instance"))
    before = _uuid(lab, f"{PREFIX}-0")
    summary = stack.up_summary("--replace", urn)
    assert summary["result"] == "succeeded", summary
    after = _uuid(lab, f"{PREFIX}-0")
    assert after and after != before, "the replica must be a new container, and it must exist"
    assert _uuid(lab, f"{PREFIX}-1"), "the other replica must survive the replacement"
    pulled = skopeo.pull(pushed["repository"], pushed["tag"], tmp_path / "pulled")
    assert pulled.returncode == 0, pulled.stderr
    assert skopeo.digest(pushed["repository"], pushed["tag"]).stdout.strip() == pushed["digest"]


def test_rolling_maintenance_of_every_member_keeps_pulls_working(lab: LabInfo, stack: PulumiCli, skopeo: Skopeo,
                                                                 pushed: dict[str, str], tmp_path: Path) -> None:
    images = [pushed, _push(skopeo, tmp_path, "before-roll")]
    started = time.monotonic()
    with _pull_loop(skopeo, images) as loop, probing(f"https://{VIP}:5000/v2/", TLS_CERT.read_text()) as probe:
        roll = subprocess.run(
            [sys.executable, "-m", "ops.maintenance", "--stack", stack.stack, "--prefix", f"{PREFIX}-",
             "--host-step", "{python} -m lab fault restart-member {member}"],
            cwd=stack.workdir, env=stack.env, capture_output=True, text=True, timeout=1500, check=False)
    seconds = time.monotonic() - started
    record_figure(f"maintenance roll of every member: {seconds:.0f}s, {len(loop.pulls)} pulls, {loop.retried} retried, "
                  f"{len(loop.failed)} failed; VIP longest gap {probe.result.longest_gap_s:.2f}s over "
                  f"{len(probe.result.gaps)} gap(s)")
    print(roll.stdout[-1500:])
    assert roll.returncode == 0, roll.stdout[-3000:] + roll.stderr[-2000:]
    assert loop.pulls and loop.failed == [], loop.failed
    for image in images:
        assert skopeo.digest(image["repository"], image["tag"]).stdout.strip() == image["digest"]
    assert change_counts(stack.up_summary()) == {}, "after the roll every replica is back where the stack has it"


def test_member_daemon_killed_under_the_master_pulls_continue(lab: LabInfo, stack: PulumiCli, skopeo: Skopeo,
                                                              pushed: dict[str, str], lab_faults) -> None:
    replicas = _replicas(stack)
    master = _wait_single_holder(lab, replicas)
    member = next(replica["member"] for replica in replicas if replica["name"] == master)
    with _pull_loop(skopeo, [pushed]) as loop:
        lab_faults.kill_member(member)
        before = len(loop.pulls)  # the daemon stays down while the client pulls a few more times
        wait_until(lambda: len(loop.pulls) >= before + 3, timeout_s=120, poll_s=0.5,
                   what=f"3 pulls while the daemon of {member} is down")
        lab_faults.restart_member(member)
        _wait_replicas_ready(stack)
    assert loop.pulls and loop.failed == [], loop.failed


def _wait_replicas_ready(stack: PulumiCli, timeout: float = 120) -> None:
    ready = registry_service(read_stack_config(stack.stack)).checks[1]
    wait_until(lambda: ready.check().ok, timeout_s=timeout, poll_s=2, what="every replica ready")


def test_s3_down_fails_health_clearly_and_recovers_without_loss(lab: LabInfo, stack: PulumiCli, skopeo: Skopeo,
                                                                pushed: dict[str, str], lab_faults) -> None:
    _wait_replicas_ready(stack)
    check = registry_service(read_stack_config(stack.stack)).checks[0]
    assert check.check().ok
    replica = _replicas(stack)[0]["name"]
    health = ["python3", "-c", "import urllib.request as u\ntry:\n u.urlopen('http://127.0.0.1:5001/debug/health')"
              "\nexcept Exception as e: print(e.read().decode() if hasattr(e, 'read') else e)"]
    lab_faults.stop_s3()

    def failing_health() -> str:
        detail = execute(lab.lxd_client(), replica, health, timeout_s=20).stdout
        return detail if "s3aws" in detail or "storagedriver" in detail else ""

    detail = wait_until(failing_health, timeout_s=60, poll_s=2, what="the registry's health naming S3 as down")
    ready = registry_service(read_stack_config(stack.stack)).checks[1]
    record_figure(f"registry health with S3 down: {detail.strip()[:300]}\nVIP check: {check.check().detail}"
                  f"\nreplicas check: {ready.check().detail}")
    assert not check.check().ok
    lab_faults.start_s3()
    wait_until(lambda: check.check().ok, timeout_s=90, poll_s=2, what="the registry recovering after S3 came back")
    assert skopeo.digest(pushed["repository"], pushed["tag"]).stdout.strip() == pushed["digest"]


def _secret_values(lab: LabInfo, stack: PulumiCli) -> dict[str, str]:
    """Every secret this stack handles, as a distinctive string to search for."""
    def longest_line(text: str) -> str:
        return max((line for line in text.splitlines() if "-----" not in line), key=len)

    s3 = lab.data["s3"]
    state = json.loads(stack.run("stack", "export", "--show-secrets").stdout)
    http_secret = next(r["outputs"]["value"] for r in state["deployment"]["resources"]
                       if r["urn"].endswith("::registry-http-secret"))
    if isinstance(http_secret, dict):  # a secret in an export: {<sig>: ..., "plaintext": "<json>"}
        http_secret = json.loads(http_secret["plaintext"])
    return {
        "S3 access key": Path(s3["access_key_file"]).read_text().strip(),
        "S3 secret key": Path(s3["secret_key_file"]).read_text().strip(),
        "registry password": registry_login()[1],
        "registry TLS key": longest_line((ROOT / ".state/registry/tls.key").read_text()),
        "SSH private key": longest_line((ROOT / ".state/ssh/id_ed25519").read_text()),
        "LXD client key": longest_line(Path(lab.data["lxd"]["client_key"]).read_text()),
        "registry http secret": http_secret,
    } | ({"trust password": Path(lab.data["lxd"]["trust_password_file"]).read_text().strip()}
         if lab.data["lxd"]["trust_password_file"] else {})


def test_no_secret_in_plaintext_in_state_stack_files_or_logs(lab: LabInfo, stack: PulumiCli) -> None:
    secrets = _secret_values(lab, stack)
    assert all(len(value) >= 8 for value in secrets.values()), "too short to search for reliably"
    places: dict[str, str] = {
        "pulumi stack export": stack.exported_state(),
        "pulumi up output": stack.run("up", "--yes", "--skip-preview", "--diff").stdout,
        "pulumi preview --diff output": stack.run("preview", "--diff").stdout,
        "stack file": (ROOT / f"Pulumi.{stack.stack}.yaml").read_text(),
    }
    backend = ROOT / ".state" / "backend" / ".pulumi"
    lab_dir = Path(lab.data["lab_dir"])
    ours = [path for path in backend.rglob("*") if stack.stack in str(path)]
    for path in [*ours, *(lab_dir / "logs").rglob("*"), *(lab_dir / "members").glob("*/lxd.log")]:
        if path.is_file():
            places[str(path)] = path.read_bytes().decode(errors="replace")
    client = lab.lxd_client()
    for replica in _replicas(stack):
        places[f"LXD config of {replica['name']}"] = json.dumps(client.api.instances[replica["name"]].get().json())
    leaks = [f"{name} in {place}" for place, text in places.items() for name, value in secrets.items()
             if value in text]
    record_figure(f"secrets audit: {len(secrets)} secrets x {len(places)} places, {len(leaks)} leak(s)")
    assert leaks == []
