"""Bootstrap plans as data: the steps each distro runs, and bad input rejected up front."""

from __future__ import annotations

from pathlib import Path

import pytest

from cluster.errors import ConfigError
from config.site import DISTROS
from provisioners import bootstrap_plan as plans
from provisioners.bootstrap_plan import ACCESS_STEP, KEYS_SETTING, Mirror, bake_plan, bootstrap_plan, plan_hash
from tests.support.certs import TEST_PUBLIC_KEY

KEY = TEST_PUBLIC_KEY
ARMORED = "-----BEGIN PGP PUBLIC KEY BLOCK-----\nabc\n-----END PGP PUBLIC KEY BLOCK-----"
DEBIAN_MIRROR = Mirror(url="http://10.91.0.30:9000/debian", signing_key=ARMORED)
ALPINE_MIRROR = Mirror(url="http://10.0.0.55:9000", repositories=("alpine/v3.24/main", "alpine/v3.24/community"))


@pytest.mark.parametrize("table", ["BASE_PACKAGES", "CLEAR_IDENTITY", "PACKAGE_STEPS", "ACCESS_STEPS"])
def test_plans_cover_exactly_the_distros_the_config_accepts(table: str) -> None:
    """lxdha:image.distro is checked against config's DISTROS: every one needs a plan, and a plan for a
    distro the config refuses would never run."""
    assert set(getattr(plans, table)) == set(DISTROS)


def test_debian_plan_points_apt_only_at_the_signed_mirror() -> None:
    steps = bootstrap_plan("debian", DEBIAN_MIRROR, (KEY,))
    names = [s.name for s in steps]
    assert names == ["point-apt-at-mirror", "apt-update", "apt-upgrade", "install-packages", ACCESS_STEP]
    mirror_step = steps[0].script
    assert "rm -f /etc/apt/sources.list /etc/apt/sources.list.d/*" in mirror_step
    assert "URIs: http://10.91.0.30:9000/debian" in mirror_step
    assert "Signed-By: /etc/apt/keyrings/lxdha-mirror.asc" in mirror_step
    assert "openssh-server python3" in steps[3].script
    assert "systemctl enable --quiet ssh" in steps[4].script


def test_a_baked_image_leaves_each_container_only_its_access() -> None:
    steps = bootstrap_plan("debian", DEBIAN_MIRROR, (KEY,), baked=True)
    assert [s.name for s in steps] == [ACCESS_STEP]  # one exec
    script = steps[0].script
    # the image has no host keys: each container makes its own, ed25519 + ECDSA only (RSA cost ~1 CPU-s each)
    for kind in ("ed25519", "ecdsa"):
        assert f"ssh-keygen -q -t {kind} -N '' -f /etc/ssh/ssh_host_{kind}_key;" in script
        assert f"HostKey /etc/ssh/ssh_host_{kind}_key" in script
    assert "rsa" not in script and KEY in script
    assert script.rstrip().endswith("cat /etc/ssh/ssh_host_ed25519_key.pub")  # stdout = the key to pin


def test_the_bake_installs_everything_disables_what_it_enabled_and_clears_identity() -> None:
    steps = bake_plan("debian", DEBIAN_MIRROR, ("keepalived", "python3"))
    assert [s.name for s in steps] == ["point-apt-at-mirror", "apt-update", "apt-upgrade", "install-packages",
                                       "clear-identity"]
    assert "install --no-install-recommends openssh-server python3 keepalived" in steps[3].script
    assert "systemctl disable --now" in steps[3].script
    for identity in ("rm -f /etc/ssh/ssh_host_*", ": > /etc/machine-id", "rm -rf /var/lib/apt/lists/*",
                     "/var/lib/dhcp/*", "authorized_keys", "/var/log"):
        assert identity in steps[4].script
    assert plan_hash(steps) != plan_hash(bake_plan("debian", DEBIAN_MIRROR, ("keepalived", "haproxy")))
    assert plan_hash(steps) == plan_hash(bake_plan("debian", DEBIAN_MIRROR, ("keepalived",)))


def test_alpine_plan_matches_the_seed_steps_without_fetching_keys() -> None:
    steps = bootstrap_plan("alpine", ALPINE_MIRROR, (KEY,))
    script = "\n".join(s.script for s in steps)
    assert "http://10.0.0.55:9000/alpine/v3.24/main\nhttp://10.0.0.55:9000/alpine/v3.24/community" in script
    for expected in ("apk update", "apk upgrade --no-cache", "apk add --no-cache openssh python3",
                     "PermitRootLogin prohibit-password", "rc-update add sshd default"):
        assert expected in script
    assert "wget" not in script and "github.com" not in script
    assert KEY in script


def test_plan_hash_changes_with_keys_and_mirror() -> None:
    base = plan_hash(bootstrap_plan("debian", DEBIAN_MIRROR, (KEY,)))
    assert base == plan_hash(bootstrap_plan("debian", DEBIAN_MIRROR, (KEY,)))
    assert base != plan_hash(bootstrap_plan("debian", DEBIAN_MIRROR, (KEY, KEY + "-2")))
    other_mirror = Mirror(url="http://10.91.0.31:9000/debian", signing_key=ARMORED)
    assert base != plan_hash(bootstrap_plan("debian", other_mirror, (KEY,)))


@pytest.mark.parametrize(
    ("distro", "mirror", "keys", "field"),
    [
        ("gentoo", DEBIAN_MIRROR, (KEY,), "lxdha:image.distro"),
        ("debian", Mirror(url="ftp://x", signing_key=ARMORED), (KEY,), "lxdha:mirror.url"),
        ("debian", Mirror(url="http://x"), (KEY,), "lxdha:mirror.signingKey"),
        ("alpine", Mirror(url="http://x"), (KEY,), "lxdha:mirror.repositories"),
        ("debian", Mirror(url="http://10.0.0.55:90x0", signing_key=ARMORED), (KEY,), "lxdha:mirror.url"),
        ("debian", DEBIAN_MIRROR, (), KEYS_SETTING),
        ("debian", DEBIAN_MIRROR, ("not a key",), KEYS_SETTING),
        ("debian", DEBIAN_MIRROR, (KEY[:40],), KEYS_SETTING),
    ],
)
def test_bad_input_names_the_setting(distro, mirror, keys, field) -> None:
    with pytest.raises(ConfigError) as caught:
        bootstrap_plan(distro, mirror, keys)
    assert caught.value.field == field
    assert "Fix:" in str(caught.value)


def test_apt_update_fails_when_the_mirror_cannot_be_read(tmp_path) -> None:
    """apt-get update exits 0 on an unreachable mirror; the step must not."""
    import subprocess

    from provisioners.bootstrap_plan import Mirror, debian_package_steps

    script = next(step.script for step in debian_package_steps(
        Mirror(url="http://mirror", signing_key="-----BEGIN PGP PUBLIC KEY BLOCK-----"), ("python3",))
        if step.name == "apt-update")
    fake = tmp_path / "apt-get"
    for output, expected in (("Err:1 http://mirror bookworm InRelease", 1), ("Hit:1 http://mirror bookworm", 0)):
        fake.write_text(f"#!/bin/sh\necho '{output}'\nexit 0\n")
        fake.chmod(0o755)
        result = subprocess.run(["sh", "-c", script], env={"PATH": f"{tmp_path}:/usr/bin:/bin"},
                                capture_output=True, text=True, timeout=10, check=False)
        assert result.returncode == expected, (output, result.stdout, result.stderr)


@pytest.mark.parametrize("steps", [bootstrap_plan("debian", DEBIAN_MIRROR, (KEY,)), bake_plan("debian", DEBIAN_MIRROR),
                                   bootstrap_plan("alpine", ALPINE_MIRROR, (KEY,)), bake_plan("alpine", ALPINE_MIRROR)],
                         ids=["debian", "debian-bake", "alpine", "alpine-bake"])
def test_every_package_step_first_waits_for_a_package_run_still_going(steps) -> None:
    """A step run again after its exec was cut off finds the first run's apt-get/apk still going."""
    from provisioners.bootstrap_plan import APT, WAIT_FOR_OTHER_PACKAGE_RUN

    package_steps = [s for s in steps if any(tool in s.script for tool in ("apt-get", "apk "))
                     and s.name not in ("clear-identity", ACCESS_STEP)]
    assert len(package_steps) == 3  # update, upgrade, install
    for step in package_steps:
        assert step.script.startswith("set -e\n" + WAIT_FOR_OTHER_PACKAGE_RUN), step.name
    assert "-o DPkg::Lock::Timeout=" in APT  # and apt itself waits for dpkg's lock


def test_the_wait_holds_while_a_process_named_apt_get_runs_then_goes_on(tmp_path) -> None:
    """The other run ends only once the wait has said it waits for it: no race with the machine's speed."""
    import subprocess

    from provisioners.bootstrap_plan import WAIT_FOR_OTHER_PACKAGE_RUN

    impostor = tmp_path / "apt-get"  # /proc/<pid>/comm is the name it was started as
    impostor.write_bytes(Path("/bin/sleep").read_bytes())
    impostor.chmod(0o755)
    other_run = subprocess.Popen([str(impostor), "60"])
    wait = subprocess.Popen(["sh", "-c", "set -e\n" + WAIT_FOR_OTHER_PACKAGE_RUN + "echo went-on"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = wait.stdout.readline()  # blocks until the wait reports what it waits for
        # (a real apt run elsewhere on this machine may be listed too)
        assert first.startswith("waiting for another package manager run to end: "), first
        assert f"/proc/{other_run.pid}/comm:apt-get" in first
        other_run.kill()
        other_run.wait(timeout=5)  # reaped at once: a zombie keeps its comm
        rest, errors = wait.communicate(timeout=30)
        assert wait.returncode == 0, errors
        assert rest.rstrip().endswith("went-on")
    finally:
        other_run.kill()
        wait.kill()
