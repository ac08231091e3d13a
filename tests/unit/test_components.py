"""Components wired with pulumi.runtime.set_mocks: children, dependencies, secrets, outputs."""

from __future__ import annotations

import pulumi
import pytest

created: list[tuple[str, dict]] = []


class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        outputs = dict(args.inputs)
        if args.name.endswith("-instance"):
            outputs.update(location="m2", ipv4Address="10.91.0.150", uuid="u-1")
        if args.name.endswith("-placement"):
            outputs["member"] = "m2"
        if args.name.endswith("-bootstrap"):
            outputs["host_key"] = "ssh-ed25519 AAAAhost"
        if args.name.endswith("-image"):
            outputs["fingerprint"] = "e" * 64
        created.append((args.name, args.inputs))
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


pulumi.runtime.set_mocks(Mocks(), preview=False)

from components.balanced_container import BalancedContainer, BalancedContainerArgs, PlaybookSpec  # noqa: E402
from components.image_alias import AlpineImageAlias, AlpineImageAliasArgs  # noqa: E402
from config.site import AccessConfig, ImageSource  # noqa: E402
from tests.support.certs import TEST_PUBLIC_KEY  # noqa: E402

ACCESS = AccessConfig(
    mirror={"url": "http://10.91.0.30:9000/debian", "suite": "bookworm", "components": ["main"],
            "signing_key": "-----BEGIN PGP PUBLIC KEY BLOCK-----\nx\n-----END PGP PUBLIC KEY BLOCK-----"},
    authorized_keys=[TEST_PUBLIC_KEY],
    private_key="PRIVATE",
)


@pulumi.runtime.test
def test_balanced_container_is_placed_created_on_that_member_bootstrapped_and_configured():
    container = BalancedContainer("web-0", BalancedContainerArgs(
        name="web-0", image="debian/stable", distro="debian", access=ACCESS, group="web",
        playbook=PlaybookSpec(project_dir="/tmp/ansible", playbook="site.yml")))

    def check(values):
        name, member, ipv4, _configured = values
        assert (name, member, ipv4) == ("web-0", "m2", "10.91.0.150")
        names = [n for n, _ in created]
        assert {"web-0-placement", "web-0-instance", "web-0-bootstrap", "web-0-configure"} <= set(names)
        instance_inputs = dict(created)["web-0-instance"]
        assert instance_inputs["target"] == "m2" and instance_inputs["image"] == "debian/stable"
        assert instance_inputs["config"] == {"user.lxdha.group": "web"}
        assert dict(created)["web-0-placement"]["group"] == "web"

    return pulumi.Output.all(container.name, container.member, container.ipv4, container.configured.urn).apply(check)


def test_secrets_do_not_print_in_reprs():
    assert "PRIVATE" not in repr(ACCESS) and "PRIVATE" not in repr(PlaybookSpec("/x", "y", {"k": "PRIVATE"}))


@pulumi.runtime.test
def test_image_alias_outputs_the_alias_and_fingerprint():
    image = AlpineImageAlias("base", AlpineImageAliasArgs(ImageSource(
        "https://images.example:8443", "lxd", "debian/bookworm", "debian/stable", "debian")))

    def check(values):
        assert values == ["debian/stable", "e" * 64]

    return pulumi.Output.all(image.alias, image.fingerprint).apply(check)


def test_bad_bootstrap_input_fails_before_any_resource_exists():
    from cluster.errors import ConfigError

    before = len(created)
    bad = AccessConfig(mirror=ACCESS.mirror, authorized_keys=["nope"], private_key="K")
    with pytest.raises(ConfigError, match="authorizedKeys"):
        BalancedContainer("bad-0", BalancedContainerArgs(name="bad-0", image="a", distro="debian", access=bad))
    assert not [n for n, _ in created[before:] if n.startswith("bad-0-bootstrap")]


@pulumi.runtime.test
def test_registry_claims_its_vip_and_vrid_before_its_replicas_without_a_connection_input():
    from pulumi.runtime.mocks import MockMonitor

    from components.registry import HARegistry, HARegistryArgs
    from components.vip_replicas import ServiceImage
    from config.registry import registry_settings
    from config.registry_secrets import RegistrySecrets

    settings = registry_settings({"replicas": 2, "prefix": "reg", "vip": "10.0.0.240", "vrid": 51,
                                  "network": {"subnet": "10.0.0.0/24"},
                                  "s3": {"endpoint": "http://10.0.0.55:9000", "bucket": "registry"}},
                                 mirror_url="http://10.0.0.55:9000/debian")
    secrets = RegistrySecrets("A", "S", "u:h", "CERT", "KEY", "H", None)
    before = len(created)
    dependencies: dict[str, list[str]] = {}
    register = MockMonitor.RegisterResource

    def recording(monitor, request):  # noqa: ANN001, ANN202 - the mock monitor's RPC
        dependencies[request.name] = list(request.dependencies)
        return register(monitor, request)

    MockMonitor.RegisterResource = recording
    registry = HARegistry("reg", HARegistryArgs(settings, secrets, ServiceImage("debian/stable", "debian"), ACCESS))

    def check(_values):
        MockMonitor.RegisterResource = register
        for child in ("reg-0-placement", "reg-0-instance", "reg-1-bootstrap"):
            assert any(urn.endswith("::reg-address-claim") for urn in dependencies[child]), child
        names = [name for name, _ in created[before:]]
        claim = dict(created[before:])["reg-address-claim"]
        assert {k: claim[k] for k in ("owner", "vip", "subnet", "vrid", "replicas")} == {
            "owner": "project/stack", "vip": "10.0.0.240", "subnet": "10.0.0.0/24", "vrid": 51,
            "replicas": ["reg-0", "reg-1"]}
        assert "connection" not in claim
        assert names.index("reg-address-claim") < names.index("reg-0-placement")
        # replicas are set up together and updated one at a time by the rolling gate, not a depends_on chain
        configures = {name: inputs for name, inputs in created[before:] if name.endswith("-configure")}
        assert {inputs["rolling_group"] for inputs in configures.values()} == {"reg"}
        assert not any(urn.endswith("::reg-0-configure") for urn in dependencies["reg-1-configure"])

    # a configure step registers after its bootstrap (it depends on it), so every child is recorded by then
    return pulumi.Output.all(*[replica.configured.urn for replica in registry.replicas]).apply(check)


@pulumi.runtime.test
def test_postgres_members_keep_their_data_on_volumes_of_their_own_behind_an_haproxy_group():
    from components.postgres_cluster import PostgresCluster, PostgresClusterArgs
    from components.vip_replicas import ServiceImage
    from config.postgres import postgres_settings
    from config.postgres_secrets import PostgresSecrets

    settings = postgres_settings({
        "name": "pg", "prefix": "db", "network": {"subnet": "10.0.0.0/24"},
        "haproxy": {"vip": "10.0.0.244", "vrid": 64},
        "backup": {"s3": {"endpoint": "https://10.0.0.55:9443", "bucket": "pgbackrest"}}})
    secrets = PostgresSecrets(*(["pw"] * 5), "CERT", "KEY", "A", "S", "")
    before = len(created)
    cluster = PostgresCluster("db", PostgresClusterArgs(settings, secrets, ServiceImage("debian/stable", "debian"),
                                                        ACCESS))

    def check(_values):
        made = dict(created[before:])
        volume = made["db-0-data"]
        assert (volume["name"], volume["pool"], volume["target"], volume["config"]) == (
            "db-0-data", "default", "m2", {"size": "4GiB"})  # on the member the container is placed on
        instance = made["db-0-instance"]
        assert {"name": "data", "type": "disk", "properties": {
            "pool": "default", "source": "db-0-data", "path": "/var/lib/postgresql/15"}} in instance["devices"]
        assert instance["config"]["cluster.evacuate"] == "stop" and instance["config"]["user.lxdha.stateful"]
        assert {made[f"db-{i}-configure"]["rolling_group"] for i in range(3)} == {"db"}
        claim = made["db-haproxy-address-claim"]
        assert (claim["vip"], claim["vrid"], claim["setting"]) == ("10.0.0.244", 64, "lxdha:postgres.haproxy")
        assert made["db-haproxy-0-configure"]["playbook"] == "haproxy.yml"

    outputs = [m.configured.urn for m in cluster.members] + [r.configured.urn for r in cluster.haproxy.replicas]
    return pulumi.Output.all(*outputs, cluster.write_endpoint).apply(check)
