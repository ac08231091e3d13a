"""Pulumi.prod.yaml, validated offline: the production site is never contacted by tests (no
connection, no DNS lookup).

Checks the documented site (LB, mirror, image, replicas), that every setting passes the same readers
`pulumi preview` runs, that no secret value is in the file, and that the placeholders fail with an
error naming the key until an operator sets them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cluster.connection import LxdEndpoint, normalize_fingerprint, validate_endpoint
from cluster.errors import ConfigError
from cluster.image_remote import simplestreams_product
from config.checks import url_host
from config.containers import containers_settings
from config.footprints import check_services_apart, containers_footprint, vip_group_footprint
from config.registry import registry_endpoints, registry_settings
from config.site import bake_settings, image_source, mirror
from config.stack import check_stack_keys
from config.vip_group import check_vip_is_not_an_endpoint
from provisioners.bootstrap_plan import Mirror, validate_plan_inputs
from tests.support.certs import TEST_PUBLIC_KEY

ROOT = Path(__file__).resolve().parents[2]
PROD = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["config"]


def _offline(host: str) -> set[str]:
    """A resolver that never asks DNS: literal addresses only (the site's endpoints are literals)."""
    return {host} if host.replace(".", "").isdigit() else set()


def test_production_site_as_documented() -> None:
    assert PROD["lxd:remote"] == "https://10.0.0.100:8443"
    assert PROD["lxdha:mirror"]["url"] == "http://10.0.0.55:9000"
    image = image_source(PROD["lxdha:image"])
    assert (image.source, image.alias, image.distro, image.protocol) == (
        "alpine/3.24", "alpine/stable", "alpine", "simplestreams")


def test_image_source_is_an_image_server_lxd_uses_today() -> None:
    """images.linuxcontainers.org serves Incus only; LXD's `images:` remote is Canonical's server,
    whose simplestreams index names Alpine releases `alpine:<release>:<arch>:default`."""
    image = PROD["lxdha:image"]
    assert image["remote"] == "https://images.lxd.canonical.com"
    assert simplestreams_product(image["source"]) == "alpine:3.24:amd64:default"


def test_every_setting_passes_the_preview_readers() -> None:
    image = image_source(PROD["lxdha:image"])
    site_mirror = mirror(PROD["lxdha:mirror"], image.distro, image.source)
    assert site_mirror["repositories"] == ["alpine/v3.24/main", "alpine/v3.24/community"]
    settings = registry_settings(PROD["lxdha:registry"], mirror_url=site_mirror["url"])
    assert settings.vip_group.replicas == 2 and settings.vrrp.vip == "10.0.0.250"
    assert settings.vrrp.subnet == "10.0.0.0/24"
    assert settings.s3.endpoint == "http://10.0.0.55:9000"
    assert settings.server.source == "artifact"
    assert settings.server.url.startswith("http://10.0.0.55:9000/artifacts/distribution-registry/")
    check_vip_is_not_an_endpoint(settings.vip_group, {"lxd:remote": url_host(PROD["lxd:remote"]),
                                                     "lxdha:image.remote": url_host(image.remote_url),
                                                     "lxdha:mirror.url": url_host(site_mirror["url"]),
                                                     **registry_endpoints(settings)}, resolve=_offline)
    check_services_apart([containers_footprint(containers_settings(PROD["lxdha:containers"])),
                          vip_group_footprint(settings.vip_group)])
    check_stack_keys(PROD)
    assert bake_settings(PROD["lxdha:image"]).alias == "alpine/stable-baked"
    validate_plan_inputs("alpine", Mirror(url=site_mirror["url"], repositories=tuple(site_mirror["repositories"])),
                         (TEST_PUBLIC_KEY,))


def test_mirror_paths_of_another_alpine_release_are_refused() -> None:
    stale = {**PROD["lxdha:mirror"], "repositories": ["alpine/v3.11/main", "alpine/v3.11/community"]}
    with pytest.raises(ConfigError, match="lxdha:mirror.repositories: 'alpine/v3.11/main' is Alpine 3.11"):
        image = image_source(PROD["lxdha:image"])
        mirror(stale, image.distro, image.source)


def test_no_secret_value_in_the_stack_file() -> None:
    text = (ROOT / "Pulumi.prod.yaml").read_text()
    assert "PRIVATE KEY" not in text and "secure:" not in text
    for key in ("lxd:clientKey", "lxd:trustPassword", "lxdha:sshPrivateKey", "lxdha:registryS3SecretKey",
                "lxdha:registryTlsKey", "lxdha:registryUsers"):
        assert key not in PROD, f"{key} must be set with --secret, not written in the file"


def test_fingerprint_placeholder_is_refused_by_name() -> None:
    endpoint = LxdEndpoint(url=PROD["lxd:remote"], server_fingerprint=normalize_fingerprint(
        PROD["lxd:serverFingerprint"]), client_cert_pem="-----BEGIN CERTIFICATE-----",
        client_key_pem="-----BEGIN PRIVATE KEY-----")
    problems = validate_endpoint(endpoint)
    assert problems == ["lxd:serverFingerprint must be the 64-hex-digit SHA-256 of the server certificate"]
