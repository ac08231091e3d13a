"""The bad-input table: each row is a stack config mistake; `pulumi preview` must fail with a message
naming the setting (and the fix), and nothing may be created in the cluster.

One test case per row; a row that needs state (an alias made by hand, an instance holding an address,
another stack's claim) creates it and removes it again. The table doubles as documentation:
`pytest -s` prints each row's message.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cluster.facts import read_instances
from cluster.images import copy_image
from cluster.operations import execute
from cluster.steps import wait_for_ipv4
from harness.lab_stacks import postgres_overrides
from lab.info import LabInfo
from lab.pki import issue_self_signed
from provisioners.address_claims import ClaimRequest
from tests.support.certs import self_signed_client_cert
from tests.support.lab_stack import lab_stack, stack_config

pytestmark = pytest.mark.integration

HANDMADE_ALIAS = "debian/handmade"
OTHER_STACK = "lxdha/it-elsewhere"  # a stack that exists only through the claims a row creates
HOLDER_ADDRESS = "10.91.0.246"  # an address the holder instance carries (outside the DHCP range)
# what the rows' stacks would create (others share the lab)
OUR_PREFIXES = ("badreg-", "badpg-", "bp-", "app-", "Bad_Name")


@dataclass(frozen=True)
class Context:
    lab: LabInfo
    tmp: Path
    request: pytest.FixtureRequest


Overrides = Callable[[Context], dict[str, Any]]
State = Callable[[Context], contextlib.AbstractContextManager]


@dataclass(frozen=True)
class Row:
    case: str
    overrides: Overrides
    expected: str  # a line of the preview's output must contain this (it names the setting)
    state: State | None = None


def _registry(ctx: Context, **changes: Any) -> dict[str, Any]:
    s3 = ctx.lab.data["s3"]
    network = ctx.lab.data["network"]
    registry = {"replicas": 2, "prefix": "badreg", "vip": "10.91.0.245", "vrid": 71,
                "network": {"subnet": network["subnet"], "dhcpRange": network["dhcp_range"]},
                "s3": {"endpoint": s3["endpoint"], "bucket": "registry", "accessKeyFile": s3["access_key_file"],
                       "secretKeyFile": s3["secret_key_file"]},
                "usersFile": ".state/registry/users",
                "tls": {"certFile": ".state/registry/tls.crt", "keyFile": ".state/registry/tls.key"}}
    return {"lxdha:registry": _changed(registry, changes)}


def _changed(section: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`section` with each change applied: a path whose parts are joined by `__`; None removes the key."""
    for path, value in changes.items():
        node = section
        *parents, last = path.split("__")
        for key in parents:
            node = node[key]
        if value is None:
            node.pop(last)
        else:
            node[last] = value
    return section


def _postgres(ctx: Context, **changes: Any) -> dict[str, Any]:
    database = postgres_overrides(ctx.lab.data, name="badpg", vip="10.91.0.245", vrid=73, backup_path="/badpg")
    return {"lxdha:postgres": _changed(database["lxdha:postgres"], changes)}


def _registry_at(vip: str, **changes: Any) -> Overrides:
    """A registry on `vip`, with a TLS pair issued for it (the lab's covers only its VIP range), so the
    row reaches the address checks."""
    def overrides(ctx: Context) -> dict[str, Any]:
        cert, key = issue_self_signed("bad-input registry", ips=[vip])
        (ctx.tmp / "tls.crt").write_text(cert)
        (ctx.tmp / "tls.key").write_text(key)
        tls = {"certFile": str(ctx.tmp / "tls.crt"), "keyFile": str(ctx.tmp / "tls.key")}
        return _registry(ctx, vip=vip, tls=tls, **changes)
    return overrides


def _image(**changes: Any) -> Overrides:
    return lambda _ctx: {"lxdha:image": {**stack_config("bad", {})["lxdha:image"], **changes}}


def _site(key: str, **changes: Any) -> Overrides:
    return lambda _ctx: {key: {**stack_config("bad", {})[key], **changes}}


def _untrusted(ctx: Context) -> dict[str, Any]:
    cert, key = self_signed_client_cert("lxdha-untrusted")
    (ctx.tmp / "untrusted.crt").write_text(cert)
    (ctx.tmp / "untrusted.key").write_text(key)
    (ctx.tmp / "wrong-password").write_text("not-the-password")
    return {"lxd:clientCertFile": str(ctx.tmp / "untrusted.crt"), "lxd:clientKeyFile": str(ctx.tmp / "untrusted.key"),
            "lxd:trustPasswordFile": str(ctx.tmp / "wrong-password")}


def _keys_file(line: str) -> Overrides:
    def overrides(ctx: Context) -> dict[str, Any]:
        (ctx.tmp / "authorized_keys").write_text(f"# operators\n{line}\n")
        ssh = stack_config("bad", {})["lxdha:ssh"]
        return {"lxdha:ssh": {**ssh, "authorizedKeysFile": str(ctx.tmp / "authorized_keys")}}
    return overrides


def _registry_file(field: str, content: str) -> Overrides:
    """A registry whose `field` (a path under lxdha:registry, parts joined by `__`) names a file holding
    `content`: a secret the program reads from a file, as the lab's stack does."""
    def overrides(ctx: Context) -> dict[str, Any]:
        (ctx.tmp / "value").write_text(content)
        return _registry(ctx, **{field: str(ctx.tmp / "value")})
    return overrides


def _registry_users(users: dict[str, str]) -> Overrides:
    return lambda c: {**_registry(c), "lxdha:registryUsers": users}


def _baked_alias_is_the_alias(_ctx: Context) -> dict[str, Any]:
    image = stack_config("bad", {})["lxdha:image"]
    return {"lxdha:image": {**image, "bake": True, "bakedAlias": image["alias"]}}


def _reversed_dhcp_range(ctx: Context) -> dict[str, Any]:
    return _registry(ctx, network__dhcpRange=list(reversed(ctx.lab.data["network"]["dhcp_range"])))


def _other_cert(ctx: Context) -> Path:
    """A certificate for another address: the VIP is not among its subject alternative names."""
    cert, key = issue_self_signed("not the VIP", ips=["10.91.0.9"])
    (ctx.tmp / "other.crt").write_text(cert)
    return ctx.tmp / "other.crt"


# --- state a row needs, made before its preview and removed after ---------------------------------------

@contextlib.contextmanager
def handmade_alias(ctx: Context) -> Iterator[None]:
    """An alias someone created by hand: a stack must refuse to take it over."""
    client = ctx.lab.lxd_client()
    fingerprint = copy_image(client, ctx.lab.image())["fingerprint"]
    client.api.images.aliases.post(json={"name": HANDMADE_ALIAS, "target": fingerprint})
    try:
        yield
    finally:
        client.api.images.aliases[HANDMADE_ALIAS].delete()


@contextlib.contextmanager
def instance_holding_the_address(ctx: Context) -> Iterator[None]:
    """A container (not this stack's) that carries HOLDER_ADDRESS, as a hand-configured service would."""
    launch = ctx.request.getfixturevalue("lab_instances")  # deletes it at test end
    name = launch("vipholder", "m2")
    client = ctx.lab.lxd_client()
    wait_for_ipv4(client, name)  # its DHCP lease first: the network manager drops addresses added before it
    result = execute(client, name, ["ip", "addr", "add", f"{HOLDER_ADDRESS}/24", "dev", "eth0"], timeout_s=60)
    assert result.exit_code == 0, result.stderr
    assert HOLDER_ADDRESS in next(i.ipv4 for i in read_instances(client, with_state=True) if i.name == name)
    yield


def claims_of_another_stack(vip: str, vrid: int) -> State:
    """Another stack's VIP and VRID claims, as its `pulumi up` would have recorded them."""
    @contextlib.contextmanager
    def state(ctx: Context) -> Iterator[None]:
        client = ctx.lab.lxd_client()
        claim = ClaimRequest(OTHER_STACK, "registry elsewhere-0..1", vip, ctx.lab.data["network"]["subnet"], vrid)
        for name, config in claim.profiles().items():
            client.api.profiles.post(json={"name": name, "config": config, "description": "bad-input row"})
        try:
            yield
        finally:
            for name in claim.names():
                client.api.profiles[name].delete()
    return state


ROWS = [
    Row("invalid container name", lambda _c: {"lxdha:containers": {"count": 1, "prefix": "Bad_Name"}},
        "lxdha:containers.prefix"),
    Row("oversized container count", lambda _c: {"lxdha:containers": {"count": 5000}}, "lxdha:containers.count"),
    Row("replicas < 2", lambda c: _registry(c, replicas=1), "lxdha:registry.replicas"),
    Row("replicas > members", lambda c: _registry(c, replicas=4), "allowReplicasOverMembers"),
    Row("VIP outside the subnet", lambda c: _registry(c, vip="10.92.0.5"), "lxdha:registry.vip"),
    Row("VIP in the DHCP range", lambda c: _registry(c, vip="10.91.0.150"), "inside the DHCP range"),
    Row("VRID out of range", lambda c: _registry(c, vrid=300), "lxdha:registry.vrid"),
    Row("unknown image", _image(source="debian/nope"), "not on the remote"),
    Row("unknown image remote", _image(remote="https://10.91.0.29:8443"), "cannot reach the image remote"),
    Row("unknown pinned member", lambda _c: {"lxdha:containers": {"count": 1, "prefix": "bp", "member": "m9"}},
        "pinned member 'm9' is not in the cluster"),
    Row("missing S3 credentials", lambda c: _registry(c, s3__accessKeyFile=None), "lxdha:registryS3AccessKey"),
    Row("wrong trust password", _untrusted, "lxd:trustPassword"),
    Row("fingerprint mismatch", lambda _c: {"lxd:serverFingerprint": "ab" * 32}, "lxd:serverFingerprint"),
    Row("unreachable remote", lambda _c: {"lxd:remote": "https://10.91.0.29:8443"}, "lxd:remote"),
    Row("duplicate alias", _image(alias=HANDMADE_ALIAS), "already exists, managed by someone outside lxdha",
        handmade_alias),
    Row("oversized input", lambda c: _registry(c, prefix="x" * 600), "characters long"),
    # service addresses that cannot collide (refused with the holder's name)
    Row("VIP = a member's address", _registry_at("10.91.0.11"),
        "lxdha:registry.vip: 10.91.0.11 is already taken by cluster member m1"),
    Row("VIP = another instance's address", lambda c: _registry(c, vip=HOLDER_ADDRESS),
        f"lxdha:registry.vip: {HOLDER_ADDRESS} is already taken by instance lxdha-t-vipholder",
        instance_holding_the_address),
    Row("VIP claimed by another stack", lambda c: _registry(c, vip="10.91.0.247"),
        f"lxdha:registry.vip: 10.91.0.247 is already taken by stack {OTHER_STACK}",
        claims_of_another_stack("10.91.0.247", 90)),
    Row("VRID taken on the segment by another stack", lambda c: _registry(c, vrid=72),
        f"lxdha:registry.vrid: VRID 72 on 10.91.0.0/24 is already used by stack {OTHER_STACK}",
        claims_of_another_stack("10.91.0.248", 72)),
    Row("VIP = the S3 endpoint host", _registry_at("10.91.0.30"), "lxdha:registry.s3.endpoint (10.91.0.30)"),
    Row("VIP = the LXD remote (load balancer)", _registry_at("10.91.0.10"), "lxd:remote (10.91.0.10)"),
    Row("TLS certificate without the VIP", lambda c: _registry(c, tls__certFile=str(_other_cert(c))),
        "lxdha:registry.tls.certFile"),
    # typed-in values that do not parse
    Row("malformed mirror URL", _site("lxdha:mirror", url="http://10.91.0.30:90x0/debian"),
        "lxdha:mirror.url: 'http://10.91.0.30:90x0/debian' has an invalid port"),
    Row("malformed image remote URL", _image(remote="https//10.91.0.20:8443"), "lxdha:image.remote"),
    Row("malformed S3 endpoint", lambda c: _registry(c, s3__endpoint="http://10.91.0.30:9000/registry"),
        "lxdha:registry.s3.endpoint"),
    Row("bad SSH public key (inline)", _site("lxdha:ssh", authorizedKeys=["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI"]),
        "lxdha:ssh.authorizedKeys[0]"),
    Row("bad SSH public key (file)", _keys_file("ssh-rsa AAAA-not-base64 op@site"), "lxdha:ssh.authorizedKeysFile"),
    Row("unknown distro", _image(distro="gentoo"), "lxdha:image.distro: unknown distro 'gentoo'"),
    # values the consuming system refuses (its own constraint, checked before anything exists)
    Row("registry port = sshd's (every container)", lambda c: _registry(c, port=22),
        "lxdha:registry.port: 22 is already in use on every replica"),
    Row("registry port below 1024 (it runs unprivileged)", lambda c: _registry(c, port=443),
        "lxdha:registry.port: 443 is a privileged port"),
    Row("DHCP range bounds in the wrong order", _reversed_dhcp_range,
        "lxdha:registry.network.dhcpRange: its bounds are in the wrong order"),
    Row("DHCP range outside the subnet", lambda c: _registry(c, network__dhcpRange=["10.92.0.100", "10.92.0.199"]),
        "lxdha:registry.network.dhcpRange: 10.92.0.100-10.92.0.199 is not inside the subnet"),
    Row("S3 bucket name S3 refuses", lambda c: _registry(c, s3__bucket="Registry_Blobs"),
        "lxdha:registry.s3.bucket: 'Registry_Blobs' is not a bucket name"),
    Row("S3 rootDirectory not a clean absolute path", lambda c: _registry(c, s3__rootDirectory="registry/../x"),
        "lxdha:registry.s3.rootDirectory: 'registry/../x' is not an absolute path"),
    Row("advert interval keepalived would round", lambda c: _registry(c, advertIntervalS=0.305),
        "lxdha:registry.advertIntervalS: VRRPv3 adverts are whole centiseconds"),
    Row("malformed registry build URL", lambda c: _registry(c, server={"url": "http://10.91.0.30:99999/registry"}),
        "lxdha:registry.server.url"),
    Row("misspelt key inside a section", lambda c: _registry(c, s3__rootdirectory="/x"),
        "lxdha:registry.s3.rootdirectory: is not a known setting"),
    Row("misspelt top-level key", lambda c: {"lxdha:regsitry": _registry(c)["lxdha:registry"]},
        "lxdha:regsitry: is not a setting of this stack"),
    Row("baked image alias = the base alias", _baked_alias_is_the_alias,
        "lxdha:image.bakedAlias: 'debian/bad' is also lxdha:image.alias"),
    Row("plain containers in the registry's group", lambda c: {
        **_registry(c), "lxdha:containers": {"count": 1, "prefix": "bp", "group": "badreg"}},
        "lxdha:containers.group: 'badreg' is also the anti-affinity group of lxdha:registry"),
    Row("playbook outside ansibleDir",
        lambda _c: {"lxdha:containers": {"count": 1, "prefix": "bp", "playbook": "../ansible/base.yml"}},
        "lxdha:containers.playbook: '../ansible/base.yml' is not a path inside ansibleDir"),
    Row("VRRP password with VRRPv3 (ignored)", _registry_file("vrrpPasswordFile", "pass-1\n"),
        "lxdha:registry.vrrpPasswordFile: VRRPv3 has no authentication"),
    Row("S3 secret key config.yml cannot hold", _registry_file("s3__secretKeyFile", 'abc"def\n'),
        "lxdha:registry.s3.secretKeyFile: the S3 secret key contains one of"),
    Row("registry user the htpasswd reads as a comment", _registry_users({"#ops": "an-ops-password"}),
        "lxdha:registryUsers: user name '#ops' starts with '#'"),
    Row("registry password past bcrypt's 72 bytes", _registry_users({"ops": "p" * 73}),
        "lxdha:registryUsers: user 'ops' has a password longer than 72 bytes"),
    Row("database members even", lambda c: _postgres(c, members=4), "lxdha:postgres.members"),
    Row("database members < 3", lambda c: _postgres(c, members=1), "lxdha:postgres.members"),
    Row("database members > cluster members", lambda c: _postgres(c, members=5),
        "lxdha:postgres.allowMembersOverClusterMembers: true"),
    Row("database password missing", lambda c: _postgres(c, replicationPasswordFile=None),
        "lxdha:postgresReplicationPassword"),
    Row("database port = Patroni's", lambda c: _postgres(c, port=8008), "lxdha:postgres.port: 8008"),
    Row("HAProxy read port = write port", lambda c: _postgres(c, haproxy__readPort=5432),
        "lxdha:postgres.haproxy.readPort"),
    Row("database VIP claimed by another stack", lambda c: _postgres(c, haproxy__vip="10.91.0.247"),
        "lxdha:postgres.haproxy.vip: 10.91.0.247 is already taken by stack",
        claims_of_another_stack("10.91.0.247", 90)),
    Row("database backups over plain HTTP", lambda c: _postgres(c, backup__s3__endpoint="http://10.91.0.30:9000"),
        "lxdha:postgres.backup.s3.endpoint"),
    Row("Patroni ttl too short for its loop",
        lambda c: _postgres(c, patroni={"ttlS": 20, "loopWaitS": 10, "retryTimeoutS": 6}),
        "lxdha:postgres.patroni.ttlS"),
]


def _cluster_objects(lab: LabInfo) -> tuple[set[str], set[str], set[str]]:
    client = lab.lxd_client()
    aliases = {a["name"] for a in client.api.images.aliases.get(params={"recursion": "1"}).json()["metadata"]
               if a["name"] == "debian/it-bad"}
    claims = {p["name"] for p in client.api.profiles.get(params={"recursion": "1"}).json()["metadata"]
              if p["name"].startswith("lxdha-claim-")}
    return {i.name for i in client.instances.all() if i.name.startswith(OUR_PREFIXES)}, aliases, claims


@pytest.mark.parametrize("row", ROWS, ids=[row.case for row in ROWS])
def test_bad_input_fails_at_preview_naming_the_setting(row: Row, lab: LabInfo, tmp_path: Path,
                                                       request: pytest.FixtureRequest) -> None:
    ctx = Context(lab, tmp_path, request)
    with row.state(ctx) if row.state else contextlib.nullcontext():
        before = _cluster_objects(lab)
        with lab_stack("bad", row.overrides(ctx)) as cli:
            # the stack's destroy at the end works from its (empty) state: the program is the bad input
            cli.env = {**cli.env, "PULUMI_RUN_PROGRAM": "false"}
            result = cli.run("preview", check=False)
        output = result.stdout + result.stderr
        message = next((line.strip() for line in output.splitlines() if row.expected in line), "")
        print(f"\n| {row.case} | {message[:300]} |")
        assert result.returncode != 0, f"{row.case}: preview succeeded:\n{output[-2500:]}"
        assert message, f"{row.case}: no line names {row.expected!r}:\n{output[-2500:]}"
        assert "Traceback" not in output, f"{row.case}: a traceback instead of one message:\n{output[-2500:]}"
        assert _cluster_objects(lab) == before, f"{row.case}: something was created"
        assert "not-the-password" not in output and "PRIVATE KEY" not in output, f"{row.case}: a secret was printed"
