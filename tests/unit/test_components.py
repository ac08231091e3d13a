"""Components wired with pulumi.runtime.set_mocks: children, dependencies, secrets, outputs."""

from __future__ import annotations

import pulumi
import pytest

created: list[tuple[str, dict]] = []


class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        outputs = dict(args.inputs)
        if args.name.endswith("-instance"):
            outputs.update(member="m2", ipv4="10.91.0.150", image_fingerprint="f" * 64, uuid="u-1")
        if args.name.endswith("-bootstrap"):
            outputs["host_key"] = "ssh-ed25519 AAAAhost"
        if args.name.endswith("-image"):
            outputs["fingerprint"] = "e" * 64
        created.append((args.name, args.inputs))
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


pulumi.runtime.set_mocks(Mocks(), preview=False)

from components.balanced_container import AccessConfig, BalancedContainer, ContainerSpec, PlaybookSpec  # noqa: E402
from components.image_alias import AlpineImageAlias, ImageSource  # noqa: E402
from tests.support.certs import TEST_PUBLIC_KEY  # noqa: E402

CONNECTION = {"url": "https://10.91.0.10:8443", "server_fingerprint": "a" * 64, "client_cert_pem": "C",
              "client_key_pem": "K", "trust_password": "", "timeout_s": 60}
ACCESS = AccessConfig(
    mirror={"url": "http://10.91.0.30:9000/debian", "suite": "bookworm", "components": ["main"],
            "signing_key": "-----BEGIN PGP PUBLIC KEY BLOCK-----\nx\n-----END PGP PUBLIC KEY BLOCK-----"},
    authorized_keys=[TEST_PUBLIC_KEY],
    private_key="PRIVATE",
)


@pulumi.runtime.test
def test_balanced_container_exposes_member_address_and_fingerprint():
    container = BalancedContainer(
        "web-0", CONNECTION, ContainerSpec(name="web-0", image_alias="debian/stable", distro="debian", group="web"),
        ACCESS, PlaybookSpec(project_dir="/tmp/ansible", playbook="site.yml"),
    )

    def check(values):
        name, member, ipv4, fingerprint, _configured = values
        assert (name, member, ipv4) == ("web-0", "m2", "10.91.0.150")
        assert fingerprint == "f" * 64
        names = [n for n, _ in created]
        assert {"web-0-instance", "web-0-bootstrap", "web-0-configure"} <= set(names)
        instance_inputs = dict(created)["web-0-instance"]
        assert instance_inputs["group"] == "web" and instance_inputs["image_alias"] == "debian/stable"

    return pulumi.Output.all(container.name, container.member, container.ipv4, container.image_fingerprint,
                             container.configured.urn).apply(check)


@pulumi.runtime.test
def test_image_alias_outputs_the_alias_and_fingerprint():
    image = AlpineImageAlias("base", CONNECTION, ImageSource("https://images.example:8443", "lxd", "debian/bookworm",
                                                            "debian/stable", "debian"))

    def check(values):
        assert values == ["debian/stable", "e" * 64]

    return pulumi.Output.all(image.alias, image.fingerprint).apply(check)


def test_bad_bootstrap_input_fails_before_any_resource_exists():
    from cluster.errors import ConfigError

    before = len(created)
    bad = AccessConfig(mirror=ACCESS.mirror, authorized_keys=["nope"], private_key="K")
    with pytest.raises(ConfigError, match="lxdha:ssh.authorizedKeys"):
        BalancedContainer("bad-0", CONNECTION, ContainerSpec(name="bad-0", image_alias="a", distro="debian"), bad)
    assert not [n for n, _ in created[before:] if n.startswith("bad-0-bootstrap")]
