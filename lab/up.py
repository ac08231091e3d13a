"""`lab up`: build (or reuse cached) artifacts, then bring every piece up in dependency order.
Each step checks what already exists, so a second run is quick and a failed run resumes."""

from __future__ import annotations

import json
import logging
import os
import shutil
from concurrent.futures import Future, ThreadPoolExecutor

from cluster.logs import step
from lab import alpine, cluster, dhcp, host_limits, images, lb, mirror, net, site, storage
from lab.config import API_PORT, MAX_MEMBERS, LabConfig, host_address
from lab.gobuild import ensure_minio
from lab.info import LabInfo, build_info, write_info
from lab.members import ensure_holder, start_daemon, start_until_ready
from lab.pki import ensure_pair, presented_certificate
from lab.proc import LabError, ProcessTable, exclusive, run
from lab.teardown import CGROUP_ROOT
from toolchain import registry_artifact

log = logging.getLogger(__name__)

REQUIRED_TOOLS = {  # tool -> Debian package (the server's own: lab/backend.py)
    "ip": "iproute2", "nsenter": "util-linux", "unshare": "util-linux",
    "mountpoint": "util-linux", "bash": "bash", "haproxy": "haproxy", "dnsmasq": "dnsmasq-base",
    "gpg": "gnupg", "gpgconf": "gnupg", "apt-ftparchive": "apt-utils", "apt-get": "apt", "tar": "tar",
    "gzip": "gzip", "chroot": "coreutils", "nft": "nftables", "iptables": "iptables",
}


def check_prerequisites(config: LabConfig, need_debootstrap: bool) -> None:
    if os.geteuid() != 0:
        raise LabError("the lab needs root (network namespaces, LXD daemons)")
    tools = {**REQUIRED_TOOLS, **config.server.tools}
    if need_debootstrap:
        tools["debootstrap"] = "debootstrap"
    if alpine.enabled() and alpine.cached(config) is None:
        tools["qemu-img"] = "qemu-utils"
    tools.update(storage.required_tools(config.storage_driver))
    missing = sorted({pkg for tool, pkg in tools.items() if shutil.which(tool) is None})
    if missing:
        raise LabError(f"missing tools; install: apt-get install -y {' '.join(missing)} (see lab/apt-packages.txt, "
                       "lab/incus-packages.txt; `make setup` installs them)")
    storage.check_kernel(config.storage_driver)


def _remove_stale_build_dirs(config: LabConfig) -> None:
    """Temp dirs of builds interrupted by a kill (we hold the lab lock, so none is in use)."""
    for pattern in ("images/build-*", "debs/apt-*", "bin/gobin-*"):
        for stale in config.cache_dir.glob(pattern):
            run(["rm", "-rf", "--one-file-system", str(stale)], timeout=300, check=False)


def _check_lab_shape(config: LabConfig) -> None:
    """A lab that is up keeps its member count, storage driver and server until `down`."""
    state = config.state_path
    if state.exists():
        recorded = json.loads(state.read_text())
        previous = recorded["members"]
        if previous != config.member_count:
            raise LabError(f"the lab is up with {previous} members (asked for {config.member_count}); "
                           f"run `python -m lab down` first")
        driver = recorded.get("storage", "dir")  # labs brought up before the setting existed used dir
        if driver != config.storage_driver:
            raise LabError(f"the lab is up with {driver} storage (LAB_STORAGE={config.storage_driver}); "
                           f"run `python -m lab down` first, or unset LAB_STORAGE")
        backend = recorded.get("backend", "lxd")
        if backend != config.backend:
            raise LabError(f"the lab is up on {backend} (LAB_BACKEND={config.backend}); "
                           f"run `python -m lab down` first, or unset LAB_BACKEND")
    else:
        # liblxc creates a host-global `lxc.pivot` cgroup when containers stop; down removes it
        # only if it was not there before the lab
        pivot_existed = any(CGROUP_ROOT.glob("*/lxc.pivot"))
        state.write_text(json.dumps({"members": config.member_count, "storage": config.storage_driver,
                                     "backend": config.backend,
                                     "lxc_pivot_preexisted": pivot_existed}) + "\n")


def _prepare_dirs(config: LabConfig) -> None:
    config.lab_dir.mkdir(parents=True, exist_ok=True)
    config.lab_dir.chmod(0o755)
    for folder in (config.run_dir, config.log_dir, config.pki_dir, config.lb_dir, config.site_dir,
                   config.dhcp_dir, config.lab_dir / "members"):
        folder.mkdir(parents=True, exist_ok=True)
    config.secrets_dir.mkdir(mode=0o700, exist_ok=True)
    config.secrets_dir.chmod(0o700)


def _ensure_certificates(config: LabConfig) -> tuple[str, str]:
    """The cluster certificate names the LB and every possible member address, so clients may
    verify it by name as well as pin it."""
    all_member_ips = [host_address(10 + i) for i in range(1, MAX_MEMBERS + 1)]
    cluster_pem = ensure_pair(config.pki_dir / "cluster.crt", config.secrets_dir / "cluster.key", "lxdha-cluster",
                              ips=[config.lb.address, *all_member_ips, "127.0.0.1"], dns=["lxdha-cluster"])
    client_pem = ensure_pair(config.pki_dir / "client.crt", config.secrets_dir / "client.key", "lxdha-lab-client",
                             server=False)
    return cluster_pem, client_pem


def _site(config: LabConfig, table: ProcessTable, image: images.BuiltImage,
          server: registry_artifact.Artifact) -> mirror.SignedMirror:
    debs = mirror.ensure_debs(config, image)
    signed = mirror.build_signed_mirror(config, debs)
    site.ensure_credentials(config)
    site.start_s3(config, table)
    site.start_s3_tls(config, table)
    site.ensure_buckets(config)
    site.publish_mirror(config, signed)
    if not site.mirror_serves(config):
        raise LabError(f"the mirror is not served at {config.mirror_url}")
    try:  # the registry build, in the mirror's bucket as a site publishes it
        registry_artifact.publish_and_verify(site.s3_client(config), config.mirror_url, server)
    except registry_artifact.ArtifactError as error:
        raise LabError(f"publishing the registry build to the mirror failed: {error}") from None
    return signed


def _registry_build(config: LabConfig) -> registry_artifact.Artifact:
    try:
        return registry_artifact.built(config.cache_dir)
    except registry_artifact.ArtifactError as error:
        raise LabError(str(error)) from None


def _cluster(config: LabConfig, table: ProcessTable, client_pem: str, alpine_image: object) -> None:
    for member in config.members:
        start_until_ready(table, member.name, member.lxd_dir, config.server)
    with step(log, "up: cluster bootstrap"):
        cluster.bootstrap(config)
        cluster.ensure_cluster_certificate(config)
        cluster.ensure_trust_password(config)
        cluster.trust_client(config, client_pem)
        if alpine_image:
            cluster.ensure_profile(config, alpine.PROFILE, alpine.PROFILE_CONFIG,
                                   "Alpine instances: busybox init halts on SIGUSR2, not SIGPWR")
    for member in config.members[1:]:
        with step(log, f"up: join {member.name}"):
            cluster.join(config, member)


def up(config: LabConfig) -> LabInfo:
    with exclusive(config.cache_dir, "up"):
        return _up(config)


def _up(config: LabConfig) -> LabInfo:
    image_cached = images.cached_image(config) is not None
    check_prerequisites(config, need_debootstrap=not image_cached)
    _prepare_dirs(config)
    host_limits.raise_limits(config)
    _check_lab_shape(config)
    _remove_stale_build_dirs(config)
    config.info_path.unlink(missing_ok=True)  # present only when a run completed
    table = ProcessTable(config.run_dir)

    with step(log, "up: artifacts (images, MinIO and registry binaries)"), ThreadPoolExecutor(2) as pool:
        minio_future = pool.submit(ensure_minio, config)
        alpine_future = pool.submit(alpine.build, config) if alpine.enabled() else None
        image = images.build_image(config)
        minio_future.result()
        server = _registry_build(config)  # after MinIO: two Go builds at once only slow each other
        alpine_image = alpine_future.result() if alpine_future else None
    extra = ((alpine_image, alpine.ALIASES),) if alpine_image else ()
    with step(log, "up: network"):
        net.ensure_network(config)
        dhcp.ensure_dhcp(config, table)
    cluster_pem, client_pem = _ensure_certificates(config)  # before any join: joiners inherit it
    with step(log, "up: member daemons started"):
        for member in config.members:
            ensure_holder(table, member.name, member.netns, member.lxd_dir)
        for member in config.members:
            start_daemon(table, member.name, member.lxd_dir, config.server)
    lb.ensure_lb(config, table)

    with ThreadPoolExecutor(3) as pool:
        site_future: Future = pool.submit(_timed, "up: site (S3 + signed mirror + registry build)", _site, config,
                                          table, image, server)
        remote_future: Future = pool.submit(_timed, "up: image remote", images.ensure_image_remote, config,
                                            table, image, extra)
        _cluster(config, table, client_pem, alpine_image)
        with step(log, "up: all members ONLINE"):
            cluster.wait_all_online(config)
        signed = site_future.result()
        remote_pem = remote_future.result()

    with step(log, "up: load balancer presents the cluster certificate"):
        presented = presented_certificate(config.lb.address, API_PORT)
        if presented.strip() != cluster_pem.strip():
            raise LabError("the load balancer presents a certificate other than the lab's cluster certificate")
    with step(log, "up: load balancer sees every member UP"):
        for member in config.members:
            lb.wait_server_state(config, member.name, "UP", timeout=30)
    data = build_info(config, cluster_cert_pem=cluster_pem, image_remote_cert_pem=remote_pem,
                      image_fingerprint=image.fingerprint, mirror_key_fingerprint=signed.key_fingerprint,
                      mirror_packages=list(mirror.PACKAGES),
                      alpine_fingerprint=alpine_image.fingerprint if alpine_image else None)
    info = LabInfo(config, data)
    with step(log, "up: client check through the load balancer"):
        client = info.lxd_client()
        if not client.trusted:
            raise LabError("the lab client certificate is not trusted through the load balancer")
    write_info(config, data)
    return info


def _timed(label: str, fn, *args):  # noqa: ANN001, ANN202
    with step(log, label):
        return fn(*args)


def summary(info: LabInfo, statuses: dict[str, str]) -> str:
    d = info.data
    lines = ["lxdha lab is up", "", "cluster members:"]
    for m in d["lxd"]["members"]:
        status = statuses.get(m["name"], "?")
        lines.append(f"  {m['name']:4} {m['address']:12} {status.upper()}")
    lines += [
        "",
        f"load balancer (LXD API): {d['lxd']['url']}   (server cert {d['lxd']['server_cert']},"
        f" sha256 {d['lxd']['server_fingerprint']})",
        f"image remote:            {d['image_remote']['url']}  alias {', '.join(d['image_remote']['aliases'])}",
        f"S3 endpoint:             {d['s3']['endpoint']}  buckets {d['s3']['buckets']['mirror']} (public read),"
        f" {d['s3']['buckets']['registry']}",
        f"package mirror:          {d['mirror']['url']} {d['mirror']['suite']} main"
        f"  (key {d['mirror']['key_binary']})",
        f"DHCP range:              {'-'.join(d['network']['dhcp_range'])}  VIPs {'-'.join(d['network']['vip_range'])}",
        f"client env:              {info.config.info_path}  (python -m lab env --json)",
    ]
    return "\n".join(lines)
