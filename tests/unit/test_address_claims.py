"""VIP/VRID collisions and claims, driven through the fake LXD: who holds an address, atomic claims
that the first stack wins, adoption of our own, release of only our own, and the provider on top."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pulumi.dynamic import Config, ConfigureRequest

import provisioners.claim_provider as claim_provider
from cluster.facts import MANAGED_KEY, OWNER_KEY, InstanceFact, MemberFact
from provisioners.address_claims import (
    Claim,
    ClaimConflict,
    ClaimRequest,
    collision_problems,
    ensure_claimed,
    held,
    read_claims,
    release,
    vip_claim_name,
    vrid_claim_name,
)
from provisioners.claim_provider import AddressClaimProvider
from tests.support.certs import self_signed_client_cert
from tests.support.fake_lxd import URL, FakeLxd

OURS, THEIRS = "lxdha/lab", "lxdha/other"
REQUEST = ClaimRequest(owner=OURS, service="registry registry-0..1", vip="10.9.0.240", subnet="10.9.0.0/24",
                       vrid=51, replicas=("registry-0", "registry-1"))
VIP_CLAIM, VRID_CLAIM = vip_claim_name("10.9.0.240"), vrid_claim_name("10.9.0.0/24", 51)


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "sleep", lambda _s: None)


@pytest.fixture
def fake() -> FakeLxd:
    return FakeLxd.cluster()


def _claim_profile(fake: FakeLxd, request: ClaimRequest) -> None:
    """Another stack's claims, as its own create would have left them."""
    for name, config in request.profiles().items():
        fake.profiles[name] = {"name": name, "config": config, "devices": {}, "description": ""}


def _instance(name: str, address: str, owner: str | None = None) -> InstanceFact:
    config = {MANAGED_KEY: "true", OWNER_KEY: owner} if owner else {}
    return InstanceFact(name, "m1", "Running", config, (address,))


def test_claim_names_are_deterministic_per_value() -> None:
    assert VIP_CLAIM == "lxdha-claim-vip-10-9-0-240"
    assert VRID_CLAIM == "lxdha-claim-vrid-10-9-0-0-24-51"
    assert REQUEST.names() == sorted([VIP_CLAIM, VRID_CLAIM])


@pytest.mark.parametrize(("members", "instances", "claims", "holder"), [
    ([MemberFact("m2", "Online", "10.9.0.240")], [], [], "cluster member m2"),
    ([], [_instance("app-0", "10.9.0.240", THEIRS)], [], "instance app-0 (stack lxdha/other)"),
    ([], [_instance("handmade", "10.9.0.240")], [], "instance handmade (created outside lxdha)"),
    ([], [_instance("app-0", "10.9.0.240", OURS)], [], "instance app-0 (stack lxdha/lab)"),  # ours, not a replica
    ([], [_instance("registry-0", "10.9.0.240", THEIRS)], [], "instance registry-0 (stack lxdha/other)"),
    ([], [], [Claim(VIP_CLAIM, THEIRS, "registry r-0..1", vip="10.9.0.240")], "stack lxdha/other (claim "),
])
def test_the_vip_holder_is_named(members: list, instances: list, claims: list, holder: str) -> None:
    problems = collision_problems(REQUEST, members, instances, claims)
    assert [field for field, _ in problems] == ["vip"]
    assert problems[0][1].startswith("lxdha:registry.vip: 10.9.0.240 is already taken by " + holder)
    assert "Fix:" in problems[0][1]


def test_our_own_replica_carrying_the_vip_and_our_own_claims_are_no_collision() -> None:
    master = _instance("registry-0", "10.9.0.240", OURS)
    ours = [Claim(VIP_CLAIM, OURS, vip="10.9.0.240"), Claim(VRID_CLAIM, OURS, subnet="10.9.0.0/24", vrid=51)]
    assert collision_problems(REQUEST, [MemberFact("m1", "Online", "10.9.0.1")], [master], ours) == []


@pytest.mark.parametrize(("subnet", "collides"), [("10.9.0.0/24", True), ("10.9.0.0/16", True),
                                                   ("10.9.1.0/24", False)])
def test_a_vrid_is_unique_on_a_segment(subnet: str, collides: bool) -> None:
    claims = [Claim(vrid_claim_name(subnet, 51), THEIRS, subnet=subnet, vrid=51)]
    problems = collision_problems(REQUEST, [], [], claims)
    assert ([field for field, _ in problems] == ["vrid"]) == collides
    if collides:
        assert problems[0][1].startswith("lxdha:registry.vrid: VRID 51 on 10.9.0.0/24 is already used by stack "
                                         "lxdha/other")


def test_claims_are_created_once_and_adopted_after(fake: FakeLxd) -> None:
    client = fake.client()
    assert ensure_claimed(client, REQUEST) == REQUEST.names()
    assert fake.profiles[VIP_CLAIM]["config"][OWNER_KEY] == OURS
    assert fake.profiles[VRID_CLAIM]["config"]["user.lxdha.claim.vrid"] == "51"
    assert ensure_claimed(client, REQUEST) == REQUEST.names()  # re-run: adopted, not created again
    assert fake.count("POST", "/profiles") == 2
    assert {claim.name for claim in read_claims(client)} == set(REQUEST.names())
    assert held(client, REQUEST)


def test_a_claim_whose_answer_was_lost_is_adopted(fake: FakeLxd) -> None:
    fake.fail("POST", "/profiles", kind="lost")
    assert ensure_claimed(fake.client(), REQUEST) == REQUEST.names()
    assert fake.count("POST", "/profiles") == 2


def test_the_first_stack_wins_and_the_loser_leaves_nothing_behind(fake: FakeLxd) -> None:
    _claim_profile(fake, ClaimRequest(THEIRS, "registry r-0..1", "10.9.0.241", "10.9.0.0/24", 51))
    with pytest.raises(ClaimConflict) as caught:
        ensure_claimed(fake.client(), REQUEST)
    assert str(caught.value).startswith("lxdha:registry.vrid: VRID 51 on 10.9.0.0/24 is already claimed by stack "
                                        "lxdha/other")
    assert VIP_CLAIM not in fake.profiles  # created by this call, released again


def test_a_claim_taken_between_our_read_and_our_create_names_the_winner(fake: FakeLxd) -> None:
    winner = ClaimRequest(THEIRS, "registry r-0..1", "10.9.0.240", "10.9.0.0/24", 52)
    fake.fail("POST", "/profiles", status=409, message="The profile already exists",
              before=lambda: _claim_profile(fake, winner))
    with pytest.raises(ClaimConflict, match=r"lxdha:registry.vip: 10.9.0.240 is already claimed by stack lxdha/other"):
        ensure_claimed(fake.client(), REQUEST)


def test_release_deletes_only_our_claims(fake: FakeLxd) -> None:
    client = fake.client()
    ensure_claimed(client, REQUEST)
    fake.profiles[VRID_CLAIM]["config"][OWNER_KEY] = THEIRS  # taken over by hand: not ours to delete
    assert release(client, REQUEST.names(), OURS) == [VIP_CLAIM]
    assert VRID_CLAIM in fake.profiles and "default" in fake.profiles
    assert release(client, REQUEST.names(), OURS) == []  # gone already is fine


# --- the provider: connection from configure(), never from its inputs --------------------------------------

PROPS = {"owner": OURS, "service": REQUEST.service, "vip": REQUEST.vip, "subnet": REQUEST.subnet, "vrid": 51,
         "replicas": list(REQUEST.replicas)}


@pytest.fixture
def provider(fake: FakeLxd, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AddressClaimProvider:
    """Configured from stack config with project-relative file paths, talking to the fake."""
    cert, key = self_signed_client_cert("lxdha-test")
    (tmp_path / "pki").mkdir()
    (tmp_path / "pki" / "client.crt").write_text(cert)
    (tmp_path / "pki" / "client.key").write_text(key)
    monkeypatch.chdir(tmp_path)
    configured = AddressClaimProvider()
    configured.configure(ConfigureRequest(Config({"lxd:remote": URL, "lxd:serverFingerprint": "ab" * 32,
                                                  "lxd:clientCertFile": "pki/client.crt",
                                                  "lxd:clientKeyFile": "pki/client.key"}, "lxdha")))
    assert configured.endpoint().client_key_pem == key  # project-relative paths resolved like the program's

    class FakeConnection:
        def __init__(self, endpoint: object) -> None:
            assert endpoint == configured.endpoint()

        def __enter__(self) -> object:
            return fake.client()

        def __exit__(self, *_exc: object) -> None:
            return None

    monkeypatch.setattr(claim_provider, "shared_client", FakeConnection)
    return configured


def test_provider_check_refuses_with_the_setting_and_the_holder(provider: AddressClaimProvider,
                                                                fake: FakeLxd) -> None:
    fake.add_instance("app-3", fake_ipv4="10.9.0.240", config={MANAGED_KEY: "true", OWNER_KEY: THEIRS})
    failures = provider.check({}, dict(PROPS)).failures
    assert [(f.property, f.reason.split(". Fix")[0]) for f in failures] == [
        ("vip", "lxdha:registry.vip: 10.9.0.240 is already taken by instance app-3 (stack lxdha/other)")]
    assert provider.check({}, {**PROPS, "vip": "10.9.0.241"}).failures == []


def test_provider_lifecycle_claims_moves_and_releases(provider: AddressClaimProvider, fake: FakeLxd) -> None:
    created = provider.create(dict(PROPS))
    assert set(created.outs["claims"]) == {VIP_CLAIM, VRID_CLAIM} <= set(fake.profiles)
    assert provider.read(created.id, created.outs).id == created.id
    moved = {**PROPS, "vip": "10.9.0.242"}
    assert provider.diff(created.id, created.outs, moved).changes
    updated = provider.update(created.id, created.outs, moved).outs
    assert VIP_CLAIM not in fake.profiles and vip_claim_name("10.9.0.242") in fake.profiles
    del fake.profiles[vip_claim_name("10.9.0.242")]  # removed out of band
    assert provider.read(created.id, updated).id is None  # refresh forgets it; the next up claims again
    provider.delete(created.id, updated)
    assert not [name for name in fake.profiles if name.startswith("lxdha-claim-")]


def test_provider_without_usable_lxd_settings_fails_check_naming_the_key(monkeypatch: pytest.MonkeyPatch,
                                                                           tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    unconfigured = AddressClaimProvider()
    unconfigured.configure(ConfigureRequest(Config({"lxd:remote": URL}, "lxdha")))
    failures = unconfigured.check({}, dict(PROPS)).failures
    assert len(failures) == 1 and "lxd:clientCert" in failures[0].reason
