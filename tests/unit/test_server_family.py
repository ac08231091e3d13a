"""The server's family (LXD 5.0 or Incus 6.0) is read from what GET /1.0 answers: its environment, or, to a
client the server does not trust yet, the API extensions; a server that says neither is LXD."""

from __future__ import annotations

import pytest

from cluster.server_family import INCUS, LXD, family_of, server_family
from tests.support.fake_lxd import FakeLxd


@pytest.mark.parametrize(("server", "family"), [("lxd", LXD), ("incus", INCUS)])
def test_the_family_comes_from_the_servers_environment(server: str, family: object) -> None:
    assert server_family(FakeLxd.cluster(server=server).client()) is family


def test_an_untrusted_client_tells_incus_by_its_api_extensions() -> None:
    fake = FakeLxd.cluster(server="incus")
    fake.trusted = False
    client = fake.client()
    assert "environment" not in client.host_info
    assert server_family(client) is INCUS
    fake = FakeLxd.cluster()
    fake.trusted = False
    assert server_family(fake.client()) is LXD


def test_a_server_that_does_not_say_is_lxd() -> None:
    assert family_of({}) is LXD
    assert family_of(None) is LXD
    assert family_of({"environment": {"server_version": "5.0.2"}}) is LXD
    assert family_of({"environment": {"server": "something-else"}}) is LXD


def test_headers_are_spelled_by_family() -> None:
    assert (LXD.header("mode"), INCUS.header("mode")) == ("X-LXD-mode", "X-Incus-mode")


def test_a_copy_names_the_remotes_rest_protocol_as_the_copying_server_does() -> None:
    """Incus 6.0 refuses `protocol: lxd` ("Invalid protocol: lxd", measured) and LXD 5.0 knows no `incus`:
    one stack's config copies from the same image server on both."""
    from cluster.images import ImageSource
    from cluster.server_family import INCUS, LXD

    source = ImageSource("https://10.0.0.20:8443", "lxd", "debian/12")
    assert source.body(INCUS)["source"]["protocol"] == "incus" and source.body(LXD)["source"]["protocol"] == "lxd"
    assert ImageSource("https://10.0.0.20:8443", "incus", "debian/12").body(LXD)["source"]["protocol"] == "lxd"
    streams = ImageSource("https://images", "simplestreams", "debian/12")
    assert streams.body(INCUS)["source"]["protocol"] == "simplestreams"


def test_copying_an_image_incus_already_holds_under_an_alias_returns_that_image() -> None:
    """Incus 6.0 refuses the copy on the image's own alias (measured on the Incus lab); LXD reuses the image."""
    from cluster.images import ImageSource, copy_image
    from tests.support.fake_lxd import FakeLxd

    for server in ("lxd", "incus"):
        fake = FakeLxd.cluster(server=server)
        fake.remote_images["debian/12"] = "d" * 64
        fake.add_image("d" * 64, aliases=("debian/stable",))
        copied = copy_image(fake.client(), ImageSource("https://10.0.0.20:8443", "lxd", "debian/12"))
        assert copied["fingerprint"] == "d" * 64, server
