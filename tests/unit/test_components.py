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

from components.balanced_container import (  # noqa: E402
    AccessConfig,
    BalancedContainer,
    BalancedContainerArgs,
    PlaybookSpec,
)
from components.image_alias import AlpineImageAlias, AlpineImageAliasArgs, ImageSource  # noqa: E402
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
