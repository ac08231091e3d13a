"""The stack as a whole: unknown top-level keys, and plain containers kept apart from the registry."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from cluster.errors import ConfigError
from config.containers import containers_settings
from config.footprints import check_services_apart, containers_footprint, vip_group_footprint
from config.registry import registry_settings
from config.registry_secrets import SECRET_KEYS
from config.site import bake_settings, image_source
from config.stack import check_stack_keys
from config.vip_group import vip_group_settings
from lab.pki import issue_self_signed

ROOT = Path(__file__).resolve().parents[2]
REGISTRY: dict[str, Any] = {
    "replicas": 2, "prefix": "registry", "vip": "10.0.0.240",
    "network": {"subnet": "10.0.0.0/24", "dhcpRange": ["10.0.0.100", "10.0.0.199"]},
    "s3": {"endpoint": "http://10.0.0.55:9000", "bucket": "registry"},
}
MIRROR = "http://10.0.0.55:9000"


@pytest.mark.parametrize(("rule", "refused", "accepted"), [
    ("an lxdha: key the program reads", "lxdha:regsitry", "lxdha:registry"),
    ("an lxd: key the providers read", "lxd:clientKeyPath", "lxd:clientKeyFile"),
    ("a secret key of the registry", "lxdha:registryS3Secret", "lxdha:registryS3SecretKey"),
])
def test_top_level_keys_must_be_known(rule: str, refused: str, accepted: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_stack_keys(["lxd:remote", refused])
    assert caught.value.field == refused and "Fix:" in str(caught.value), rule
    check_stack_keys(["lxd:remote", accepted, "aws:region"])  # other namespaces are not ours to judge


def test_every_secret_key_the_registry_reads_is_a_known_key() -> None:
    source = (ROOT / "config/registry_secrets.py").read_text()
    read = set(re.findall(r'Secret\("(\w+)"', source)) | set(re.findall(r'get_object\("(\w+)"\)', source))
    assert read == set(SECRET_KEYS)


@pytest.mark.parametrize("stack", ["lab", "prod"])
def test_the_committed_stacks_use_known_keys_only(stack: str) -> None:
    check_stack_keys(yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"])


@pytest.mark.parametrize(("rule", "containers", "accepted", "key", "words"), [
    ("names do not collide", {"count": 1, "prefix": "registry"}, {"count": 1, "prefix": "app"},
     "lxdha:containers.prefix", "collide"),
    ("groups do not meet", {"count": 1, "group": "registry"}, {"count": 1, "group": "app"},
     "lxdha:containers.group", "anti-affinity group"),
])
def test_plain_containers_stay_apart_from_the_registry(rule: str, containers: dict, accepted: dict, key: str,
                                                       words: str) -> None:
    registry = vip_group_footprint(registry_settings(REGISTRY, mirror_url=MIRROR).vip_group)
    with pytest.raises(ConfigError) as caught:
        check_services_apart([registry, containers_footprint(containers_settings(containers))])
    assert caught.value.field == key and words in str(caught.value), rule
    check_services_apart([registry, containers_footprint(containers_settings(accepted))])
    check_services_apart([containers_footprint(containers_settings(containers))])  # alone: nothing to meet


@pytest.mark.parametrize(("rule", "changes", "key"), [
    ("two services share no VIP", {"vip": "10.0.0.240"}, "lxdha:postgres.haproxy.vip"),
    ("two services share no VRID on one segment", {"vip": "10.0.0.241", "vrid": 51}, "lxdha:postgres.haproxy.vrid"),
])
def test_two_vip_groups_share_neither_vip_nor_vrid(rule: str, changes: dict, key: str) -> None:
    registry = vip_group_footprint(registry_settings(REGISTRY, mirror_url=MIRROR).vip_group)
    other = {"vip": "10.0.0.241", "vrid": 52, "prefix": "pgha", "network": REGISTRY["network"]}
    with pytest.raises(ConfigError) as caught:
        check_services_apart([registry, vip_group_footprint(
            vip_group_settings({**other, **changes}, "lxdha:postgres.haproxy", default_prefix="x", default_vrid=1))])
    assert caught.value.field == key, rule
    check_services_apart([registry, vip_group_footprint(
        vip_group_settings(other, "lxdha:postgres.haproxy", default_prefix="x", default_vrid=1))])


@pytest.mark.parametrize(("rule", "refused", "accepted", "words"), [
    ("the playbook is inside ansibleDir", "../ansible/base.yml", "base.yml", "not a path inside ansibleDir"),
    ("the playbook is relative to ansibleDir", str(ROOT / "ansible/base.yml"), "registry.yml",
     "not a path inside ansibleDir"),
    ("the playbook exists", "nope.yml", "base.yml", "does not exist"),
])
def test_container_playbooks(rule: str, refused: str, accepted: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        containers_settings({"count": 1, "playbook": refused})
    assert caught.value.field == "lxdha:containers.playbook" and words in str(caught.value), rule
    containers_settings({"count": 1, "playbook": accepted})


def test_the_lab_stack_passes_the_readers_that_need_no_lab() -> None:
    """Pulumi.lab.yaml's settings against the same readers `pulumi preview` runs (its files and the
    cluster itself are the lab's; the integration suite previews it whole)."""
    lab = yaml.safe_load((ROOT / "Pulumi.lab.yaml").read_text())["config"]
    # the files it names are the lab's own: a certificate of the same kind stands in for the remote's
    remote = {k: v for k, v in lab["lxdha:image"].items() if k != "remoteCertFile"}
    image = image_source({**remote, "remoteCert": issue_self_signed("remote", ips=["10.91.0.20"])[0]})
    bake_settings(lab["lxdha:image"])
    settings = registry_settings(lab["lxdha:registry"], mirror_url=lab["lxdha:mirror"]["url"])
    assert (settings.port, settings.s3.bucket, settings.s3.root_directory) == (5000, "registry", "/registry")
    check_services_apart([containers_footprint(containers_settings(lab["lxdha:containers"])),
                          vip_group_footprint(settings.vip_group)])
    assert image.distro == "debian"
