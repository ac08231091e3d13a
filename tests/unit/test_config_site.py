"""lxdha:image, lxdha:mirror and lxdha:ssh readers: each mistake names the exact key it came from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cluster.errors import ConfigError
from config.site import authorized_keys, bake_settings, image_source, mirror, private_key
from tests.support.certs import TEST_PUBLIC_KEY, ssh_key_pair

IMAGE = {"remote": "https://images.lxd.canonical.com", "protocol": "simplestreams", "source": "alpine/3.24",
         "alias": "alpine/stable", "distro": "alpine"}
ALPINE_MIRROR = {"url": "http://10.0.0.55:9000", "repositories": ["alpine/v3.24/main", "alpine/v3.24/community"]}
ARMORED = "-----BEGIN PGP PUBLIC KEY BLOCK-----\nabc\n-----END PGP PUBLIC KEY BLOCK-----"
DEBIAN_MIRROR = {"url": "http://10.91.0.30:9000/debian", "suite": "bookworm", "components": ["main"],
                 "signingKey": ARMORED}
DEBIAN_IMAGE = image_source({**IMAGE, "source": "debian/bookworm", "alias": "debian/stable", "distro": "debian"})


def _error(call: Any, *args: Any) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        call(*args)
    assert "Fix:" in str(caught.value)
    return caught.value


@pytest.mark.parametrize(("changes", "key", "words"), [
    ({"distro": "gentoo"}, "lxdha:image.distro", "unknown distro 'gentoo'"),
    ({"remote": "https://10.91.0.20:84a3"}, "lxdha:image.remote", "invalid port"),
    ({"remote": "http://images.lxd.canonical.com"}, "lxdha:image.remote", "https://"),
    ({"protocol": "oci"}, "lxdha:image.protocol", "not an image server protocol"),
    ({"source": "alpine 3.24"}, "lxdha:image.source", "not an image name"),
    ({"alias": ""}, "lxdha:image.alias", "is not set"),
    ({"aliases": "x"}, "lxdha:image.aliases", "not a known setting"),
    ({"remoteCert": "junk"}, "lxdha:image.remoteCert", "not a PEM certificate"),
])
def test_image_mistakes_name_the_key(changes: dict, key: str, words: str) -> None:
    error = _error(image_source, {**IMAGE, **changes})
    assert error.field == key and words in str(error)


@pytest.mark.parametrize(("raw", "image", "key", "words"), [
    ({**ALPINE_MIRROR, "url": "http//10.0.0.55:9000"}, IMAGE, "lxdha:mirror.url", "does not start with"),
    ({**ALPINE_MIRROR, "url": "http://10.0.0.55:9000x"}, IMAGE, "lxdha:mirror.url", "invalid port"),
    ({**ALPINE_MIRROR, "repositories": []}, IMAGE, "lxdha:mirror.repositories", "no Alpine repositories"),
    ({**ALPINE_MIRROR, "repositories": "alpine/v3.24/main"}, IMAGE, "lxdha:mirror.repositories", "no Alpine"),
    ({**ALPINE_MIRROR, "repositories": ["http://x/alpine"]}, IMAGE, "lxdha:mirror.repositories", "relative path"),
    ({**ALPINE_MIRROR, "repositories": ["alpine/v3.23/main"]}, IMAGE, "lxdha:mirror.repositories", "Alpine 3.23"),
    ({**ALPINE_MIRROR, "repos": []}, IMAGE, "lxdha:mirror.repos", "not a known setting"),
    ({**DEBIAN_MIRROR, "signingKey": ""}, DEBIAN_IMAGE, "lxdha:mirror.signingKey", "armored signing key"),
    ({**DEBIAN_MIRROR, "suite": "book worm"}, DEBIAN_IMAGE, "lxdha:mirror.suite", "single word"),
    ({**DEBIAN_MIRROR, "components": "main"}, DEBIAN_IMAGE, "lxdha:mirror.components", "non-empty list"),
])
def test_mirror_mistakes_name_the_key(raw: dict, image: Any, key: str, words: str) -> None:
    source = image if not isinstance(image, dict) else image_source(image)
    error = _error(mirror, raw, source.distro, source.source)
    assert error.field == key and words in str(error)


def test_good_mirrors_read() -> None:
    assert mirror(ALPINE_MIRROR, "alpine", IMAGE["source"])["repositories"] == ALPINE_MIRROR["repositories"]
    assert mirror(DEBIAN_MIRROR, "debian")["signing_key"] == ARMORED


def test_a_components_mirror_is_named_by_its_property_and_its_release_may_be_unknown() -> None:
    error = _error(mirror, {**DEBIAN_MIRROR, "signingKey": ""}, "debian", None, "registry.mirror")
    assert error.field == "registry.mirror.signingKey"
    assert mirror({**ALPINE_MIRROR, "repositories": ["alpine/v3.23/main"]}, "alpine", None, "registry.mirror")


def test_authorized_keys_name_the_entry_or_the_file(tmp_path: Path) -> None:
    keys_file = tmp_path / "authorized_keys"
    keys_file.write_text(f"# operators\n{TEST_PUBLIC_KEY}\n\n")
    assert authorized_keys({"authorizedKeys": [TEST_PUBLIC_KEY], "authorizedKeysFile": str(keys_file)}) == [
        TEST_PUBLIC_KEY, TEST_PUBLIC_KEY]
    bad_inline = _error(authorized_keys, {"authorizedKeys": [TEST_PUBLIC_KEY, "ssh-ed25519 AAAAbroken"]})
    assert bad_inline.field == "lxdha:ssh.authorizedKeys[1]"
    keys_file.write_text(f"{TEST_PUBLIC_KEY}\nssh-ed25519\n")
    bad_file = _error(authorized_keys, {"authorizedKeysFile": str(keys_file)})
    assert bad_file.field == "lxdha:ssh.authorizedKeysFile" and f"line 2 of {keys_file}" in str(bad_file)
    assert _error(authorized_keys, {}).field == "lxdha:ssh.authorizedKeys"
    assert _error(authorized_keys, {"authorizedKeys": TEST_PUBLIC_KEY}).field == "lxdha:ssh.authorizedKeys"


def test_private_key_problems_name_the_source_and_never_echo_the_key(tmp_path: Path) -> None:
    _public, good = ssh_key_pair()
    assert private_key(good, {}) == good
    locked = ssh_key_pair("passphrase")[1]
    error = _error(private_key, locked, {})
    assert error.field == "lxdha:sshPrivateKey" and "passphrase" in str(error)
    assert locked.splitlines()[1] not in str(error)
    key_file = tmp_path / "id_ed25519"
    key_file.write_text("not a key")
    assert _error(private_key, None, {"privateKeyFile": str(key_file)}).field == "lxdha:ssh.privateKeyFile"
    assert _error(private_key, None, {}).field == "lxdha:sshPrivateKey"


@pytest.mark.parametrize(("rule", "refused", "accepted", "key", "words"), [
    ("the baked image has its own alias", {"bakedAlias": "alpine/stable"}, {"bakedAlias": "alpine/stable-baked"},
     "lxdha:image.bakedAlias", "also lxdha:image.alias"),
    ("bake is true or false", {"bake": "yes"}, {"bake": False, "bakedAlias": "alpine/stable"}, "lxdha:image.bake",
     "not true/false"),
])
def test_bake_rules(rule: str, refused: dict, accepted: dict, key: str, words: str) -> None:
    error = _error(bake_settings, {**IMAGE, **refused})
    assert error.field == key and words in str(error), rule
    bake_settings({**IMAGE, **accepted})
