"""What bootstrapping a fresh container means, per distro, as data: a list of named shell steps.

A plan is a pure function of (distro, mirror, authorized keys), so it is tested as data and its
hash tells Pulumi when a container must be bootstrapped again. Every step is idempotent. Keys come
from config, never fetched at boot (the seed's `wget github.com/<user>.keys` is gone).
"""

from __future__ import annotations

import hashlib
import json
import shlex
from dataclasses import asdict, dataclass

from cluster.errors import ConfigError
from config.checks import public_key_problem, url_problem
from config.site import DISTROS

ACCESS_STEP = "access"  # its standard output is the host key it leaves sshd serving
KEYS_SETTING = "lxdha:ssh.authorizedKeys / lxdha:ssh.authorizedKeysFile"


@dataclass(frozen=True)
class Mirror:
    """The private package mirror. Debian: url + suite + components + signing key (armored).
    Alpine: url + repositories (paths under url, e.g. 'alpine/v3.24/main')."""

    url: str
    suite: str = "bookworm"
    components: tuple[str, ...] = ("main",)
    signing_key: str = ""
    repositories: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, raw: dict) -> Mirror:
        """From the plain mapping the config reader makes (and the bootstrap resource keeps as input)."""
        return cls(url=raw["url"], suite=raw.get("suite") or "bookworm",
                   components=tuple(raw.get("components") or ("main",)), signing_key=raw.get("signing_key") or "",
                   repositories=tuple(raw.get("repositories") or ()))


@dataclass(frozen=True)
class Step:
    name: str
    script: str


def _heredoc(path: str, content: str, mode: str) -> str:
    marker = "LXDHA_EOF"
    if marker in content:
        raise ValueError(f"content for {path} contains the heredoc marker")
    return f"cat > {shlex.quote(path)} <<'{marker}'\n{content.rstrip()}\n{marker}\nchmod {mode} {shlex.quote(path)}"


def _authorized_keys_script(keys: tuple[str, ...]) -> str:
    keys_file = _heredoc("/root/.ssh/authorized_keys", "\n".join(keys), "600")
    return "mkdir -p /root/.ssh\nchmod 700 /root/.ssh\n" + keys_file


SSHD_DROP_IN = "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
HOST_KEY_TYPES = ("ed25519", "ecdsa")
HOST_KEYS_DROP_IN = "".join(f"HostKey /etc/ssh/ssh_host_{kind}_key\n" for kind in HOST_KEY_TYPES)
# a key cut short by an interrupted run is made again (ssh-keygen would ask before overwriting it)
MAKE_HOST_KEYS = "\n".join(f"[ -s {path} ] && [ -s {path}.pub ] || {{ rm -f {path} {path}.pub; "
                           f"ssh-keygen -q -t {kind} -N '' -f {path}; }}"
                           for kind, path in ((kind, f"/etc/ssh/ssh_host_{kind}_key") for kind in HOST_KEY_TYPES))


BASE_PACKAGES = {"debian": ("openssh-server", "python3"), "alpine": ("openssh", "python3")}
PACKAGE_RUN_WAIT_S = 300
APT = ("DEBIAN_FRONTEND=noninteractive apt-get -q -y -o Dpkg::Options::=--force-confold "
       f"-o DPkg::Lock::Timeout={PACKAGE_RUN_WAIT_S}")
# A step run again after its exec connection was lost (a member daemon restarted) finds the first run's
# apt-get or apk still going in the container; so can a first boot (Debian's apt-daily). `apt-get update`
# does not wait for its lock (apt 2.6 fails at once), so each package step waits for such a run to end.
# Names as /proc/<pid>/comm shows them (15 characters at most).
OTHER_PACKAGE_RUN = r"^(apt|apt-get|dpkg|apk|unattended-upgr|apt.systemd.dai)$"
WAIT_FOR_OTHER_PACKAGE_RUN = (
    "waited=0\n"
    f"while running=$(grep -sE '{OTHER_PACKAGE_RUN}' /proc/[0-9]*/comm); do\n"
    "  [ $waited -gt 0 ] || echo \"waiting for another package manager run to end: $running\"\n"
    f"  if [ $waited -ge {PACKAGE_RUN_WAIT_S} ]; then\n"
    f"    echo \"another package manager run is still going after {PACKAGE_RUN_WAIT_S}s: $running\" >&2; exit 1\n"
    "  fi\n"
    "  waited=$((waited + 1)); sleep 1\n"
    "done\n"
)
DEBIAN_KEYRING = "/etc/apt/keyrings/lxdha-mirror.asc"
# Debian's postgresql-15 makes and starts a cluster of its own (15/main) at install unless told not to; the
# database members' Patroni owns their data directory, so no image or container ever gets that cluster.
NO_MAIN_CLUSTER = _heredoc("/etc/postgresql-common/createcluster.d/00-lxdha.conf", "create_main_cluster = false",
                           "644")
# While an image is baked no daemon may start: etcd would initialise a cluster of one member, and every
# daemon's state would end up in the image (invoke-rc.d and deb-systemd-invoke obey policy-rc.d).
NO_DAEMON_STARTS = _heredoc("/usr/sbin/policy-rc.d", "#!/bin/sh\nexit 101", "755")
# the units a package install enables are recorded, so a baked image starts none of them by itself
ENABLED_UNITS = "systemctl list-unit-files --state=enabled --no-legend --type=service | awk '{print $1}' | sort"


def _package_step(name: str, script: str) -> Step:
    """A step that runs the package manager: it first waits for any other run of it to end."""
    return Step(name, f"set -e\n{WAIT_FOR_OTHER_PACKAGE_RUN}{script}")


def debian_package_steps(mirror: Mirror, packages: tuple[str, ...], disable_new_units: bool = False) -> list[Step]:
    sources = (
        "Types: deb\n"
        f"URIs: {mirror.url}\n"
        f"Suites: {mirror.suite}\n"
        f"Components: {' '.join(mirror.components)}\n"
        f"Signed-By: {DEBIAN_KEYRING}\n"
    )
    install = f"mkdir -p /etc/postgresql-common/createcluster.d\n{NO_MAIN_CLUSTER}\n" \
              f"{APT} install --no-install-recommends {' '.join(packages)}"
    if disable_new_units:
        install = (f"{ENABLED_UNITS} > /tmp/lxdha-units.before\n{NO_DAEMON_STARTS}\n"
                   "trap 'rm -f /usr/sbin/policy-rc.d' EXIT\n"
                   f"{install}\nrm -f /usr/sbin/policy-rc.d\n"
                   f"{ENABLED_UNITS} > /tmp/lxdha-units.after\n"
                   "comm -13 /tmp/lxdha-units.before /tmp/lxdha-units.after | xargs -r systemctl disable --now\n"
                   "rm -f /tmp/lxdha-units.before /tmp/lxdha-units.after")
    return [
        Step("point-apt-at-mirror", "set -e\nmkdir -p /etc/apt/keyrings\n"
             + _heredoc(DEBIAN_KEYRING, mirror.signing_key, "644") + "\n"
             + "rm -f /etc/apt/sources.list /etc/apt/sources.list.d/*\n"
             + _heredoc("/etc/apt/sources.list.d/lxdha-mirror.sources", sources, "644")),
        # apt-get update exits 0 even when the mirror cannot be read: fail on its Err/W lines ourselves
        _package_step("apt-update", "out=$(apt-get -q update 2>&1) || status=$?\necho \"$out\"\n"
                      "if [ -n \"${status:-}\" ] || echo \"$out\" | grep -qE '^(Err:|W: Failed|E: )'; then\n"
                      "  echo 'apt-get update could not read the mirror (see above)' >&2; exit 1\nfi"),
        _package_step("apt-upgrade", f"{APT} upgrade"),
        _package_step("install-packages", install),
    ]


def alpine_package_steps(mirror: Mirror, packages: tuple[str, ...], disable_new_units: bool = False) -> list[Step]:
    repositories = "\n".join(f"{mirror.url.rstrip('/')}/{path.lstrip('/')}" for path in mirror.repositories)
    return [
        Step("point-apk-at-mirror", "set -e\n" + _heredoc("/etc/apk/repositories", repositories, "644")),
        _package_step("apk-update", "apk update"),
        _package_step("apk-upgrade", "apk upgrade --no-cache"),
        _package_step("install-packages", f"apk add --no-cache {' '.join(packages)}"),  # OpenRC enables nothing
    ]


def debian_access_steps(keys: tuple[str, ...]) -> list[Step]:
    """One exec: keys, this container's own host keys (a baked image has none), sshd up; prints its
    ed25519 host key. Only ed25519 and ECDSA host keys: RSA's took ~1 CPU-s per container on the lab
    (12 of 119 CPU-s of a 12-container up) and every client of the last decade speaks ed25519."""
    return [Step(ACCESS_STEP, "set -e\n" + _authorized_keys_script(keys) + "\nmkdir -p /etc/ssh/sshd_config.d\n"
                 + _heredoc("/etc/ssh/sshd_config.d/lxdha.conf", SSHD_DROP_IN + HOST_KEYS_DROP_IN, "644")
                 + f"\n{MAKE_HOST_KEYS}\nsystemctl enable --quiet ssh\nsystemctl restart ssh\n"
                 "systemctl is-active --quiet ssh\ncat /etc/ssh/ssh_host_ed25519_key.pub")]


def alpine_access_steps(keys: tuple[str, ...]) -> list[Step]:
    """One exec, as on Debian (host keys of every type: Alpine's sshd_config is edited in place)."""
    return [Step(ACCESS_STEP, "set -e\n"
                 # A locked root ('!') cannot log in even with a key; '*' means "no password" but unlocked.
                 "sed -i 's/^root:!:/root:*:/' /etc/shadow\n" + _authorized_keys_script(keys) + "\n"
                 "sed -i 's/^#\\?PermitRootLogin.*/PermitRootLogin prohibit-password/' /etc/ssh/sshd_config\n"
                 "sed -i 's/^#\\?PasswordAuthentication.*/PasswordAuthentication no/' /etc/ssh/sshd_config\n"
                 "ssh-keygen -A >/dev/null\nrc-update add sshd default >/dev/null\nrc-service sshd restart >/dev/null\n"
                 "cat /etc/ssh/ssh_host_ed25519_key.pub")]


# What makes a container *this* container; a baked image must carry none of it.
CLEAR_IDENTITY = {
    "debian": ("set -e\napt-get clean\nrm -rf /var/lib/apt/lists/*\nrm -f /etc/ssh/ssh_host_*\n"
               ": > /etc/machine-id\nrm -f /var/lib/dbus/machine-id\n"
               "rm -rf /var/lib/dhcp/* /var/lib/systemd/network/* /var/lib/systemd/random-seed\n"
               "rm -f /root/.ssh/authorized_keys /root/.bash_history\n"
               "journalctl --rotate >/dev/null 2>&1 || true\nrm -rf /var/log/journal/*\n"
               "find /var/log -type f -exec truncate -s 0 {} +"),
    "alpine": ("set -e\nrm -rf /var/cache/apk/*\nrm -f /etc/ssh/ssh_host_*\n"
               "rm -f /etc/machine-id /var/lib/dbus/machine-id\nrm -rf /var/lib/dhcpcd/* /var/lib/udhcpc/*\n"
               "rm -f /root/.ssh/authorized_keys /root/.ash_history\nfind /var/log -type f -exec truncate -s 0 {} +"),
}
PACKAGE_STEPS = {"debian": debian_package_steps, "alpine": alpine_package_steps}
ACCESS_STEPS = {"debian": debian_access_steps, "alpine": alpine_access_steps}


def validate_plan_inputs(distro: str, mirror: Mirror, keys: tuple[str, ...]) -> None:
    """Raises ConfigError naming the setting, before any container exists.

    The stack's config readers (config/site.py) check the same things first with the exact
    key of each value; this is the plan's own guard for any other caller.
    """
    if distro not in DISTROS:
        raise ConfigError("lxdha:image.distro", f"unknown distro {distro!r}", f"use one of {', '.join(DISTROS)}")
    problem = url_problem(mirror.url)
    if problem:
        raise ConfigError("lxdha:mirror.url", problem, "set the mirror's base URL, e.g. http://10.0.0.55:9000")
    if distro == "debian" and "BEGIN PGP PUBLIC KEY BLOCK" not in mirror.signing_key:
        raise ConfigError("lxdha:mirror.signingKey", "the Debian mirror needs its armored signing key",
                          "set lxdha:mirror.signingKey or signingKeyFile (apt verifies with signed-by)")
    if distro == "alpine" and not mirror.repositories:
        raise ConfigError("lxdha:mirror.repositories", "no Alpine repositories listed",
                          "list paths under the mirror URL, e.g. alpine/v3.24/main")
    if not keys:
        raise ConfigError(KEYS_SETTING, "no SSH public key given",
                          "list at least one public key (Ansible and operators log in with it)")
    for key in keys:
        problem = public_key_problem(key)
        if problem:
            raise ConfigError(KEYS_SETTING, problem, "paste the .pub line, e.g. 'ssh-ed25519 AAAA... comment'")


def bootstrap_plan(distro: str, mirror: Mirror, keys: tuple[str, ...], baked: bool = False) -> list[Step]:
    """What one container runs: on a baked image only its access (keys, host keys, sshd); otherwise the
    package steps first (mirror, update, upgrade, openssh + python3)."""
    validate_plan_inputs(distro, mirror, keys)
    packages = [] if baked else PACKAGE_STEPS[distro](mirror, BASE_PACKAGES[distro])
    return packages + ACCESS_STEPS[distro](keys)


def bake_plan(distro: str, mirror: Mirror, packages: tuple[str, ...] = ()) -> list[Step]:
    """What a builder container runs before it is published as a baked image: every package the
    containers need (base + `packages`), with the services they enable disabled, then its identity cleared."""
    wanted = tuple(dict.fromkeys((*BASE_PACKAGES[distro], *packages)))
    return [*PACKAGE_STEPS[distro](mirror, wanted, disable_new_units=True),
            Step("clear-identity", CLEAR_IDENTITY[distro])]


def plan_hash(steps: list[Step]) -> str:
    """Changes whenever any step would run differently."""
    return hashlib.sha256(json.dumps([asdict(s) for s in steps]).encode()).hexdigest()[:16]
