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
from provisioners.input_checks import public_key_problem, url_problem

DISTROS = ("debian", "alpine")
HOST_KEY_STEP = "read-host-key"
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


def _authorized_keys_step(keys: tuple[str, ...]) -> Step:
    body = "\n".join(keys)
    return Step("authorized-keys", "set -e\nmkdir -p /root/.ssh\nchmod 700 /root/.ssh\n"
                + _heredoc("/root/.ssh/authorized_keys", body, "600"))


SSHD_DROP_IN = "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"


def debian_plan(mirror: Mirror, keys: tuple[str, ...]) -> list[Step]:
    keyring = "/etc/apt/keyrings/lxdha-mirror.asc"
    sources = (
        "Types: deb\n"
        f"URIs: {mirror.url}\n"
        f"Suites: {mirror.suite}\n"
        f"Components: {' '.join(mirror.components)}\n"
        f"Signed-By: {keyring}\n"
    )
    apt = "DEBIAN_FRONTEND=noninteractive apt-get -q -y -o Dpkg::Options::=--force-confold"
    return [
        Step("point-apt-at-mirror", "set -e\nmkdir -p /etc/apt/keyrings\n"
             + _heredoc(keyring, mirror.signing_key, "644") + "\n"
             + "rm -f /etc/apt/sources.list /etc/apt/sources.list.d/*\n"
             + _heredoc("/etc/apt/sources.list.d/lxdha-mirror.sources", sources, "644")),
        # apt-get update exits 0 even when the mirror cannot be read: fail on its Err/W lines ourselves
        Step("apt-update", "set -e\nout=$(apt-get -q update 2>&1) || status=$?\necho \"$out\"\n"
             "if [ -n \"${status:-}\" ] || echo \"$out\" | grep -qE '^(Err:|W: Failed|E: )'; then\n"
             "  echo 'apt-get update could not read the mirror (see above)' >&2; exit 1\nfi"),
        Step("apt-upgrade", f"set -e\n{apt} upgrade"),
        Step("install-ssh-python", f"set -e\n{apt} install --no-install-recommends openssh-server python3"),
        _authorized_keys_step(keys),
        Step("configure-sshd", "set -e\nmkdir -p /etc/ssh/sshd_config.d\n"
             + _heredoc("/etc/ssh/sshd_config.d/lxdha.conf", SSHD_DROP_IN, "644")
             + "\nsystemctl enable ssh\nsystemctl restart ssh\nsystemctl is-active ssh"),
        Step(HOST_KEY_STEP, "cat /etc/ssh/ssh_host_ed25519_key.pub"),
    ]


def alpine_plan(mirror: Mirror, keys: tuple[str, ...]) -> list[Step]:
    repositories = "\n".join(f"{mirror.url.rstrip('/')}/{path.lstrip('/')}" for path in mirror.repositories)
    return [
        Step("point-apk-at-mirror", "set -e\n" + _heredoc("/etc/apk/repositories", repositories, "644")),
        Step("apk-update", "set -e\napk update"),
        Step("apk-upgrade", "set -e\napk upgrade --no-cache"),
        Step("install-ssh-python", "set -e\napk add --no-cache openssh python3"),
        # A locked root ('!') cannot log in even with a key; '*' means "no password" but unlocked.
        Step("unlock-root-for-keys", "set -e\nsed -i 's/^root:!:/root:*:/' /etc/shadow"),
        _authorized_keys_step(keys),
        Step("configure-sshd", "set -e\n"
             "sed -i 's/^#\\?PermitRootLogin.*/PermitRootLogin prohibit-password/' /etc/ssh/sshd_config\n"
             "sed -i 's/^#\\?PasswordAuthentication.*/PasswordAuthentication no/' /etc/ssh/sshd_config\n"
             "rc-update add sshd default\nrc-service sshd restart"),
        Step(HOST_KEY_STEP, "cat /etc/ssh/ssh_host_ed25519_key.pub"),
    ]


def validate_plan_inputs(distro: str, mirror: Mirror, keys: tuple[str, ...]) -> None:
    """Raises ConfigError naming the setting, before any container exists.

    The stack's config readers (components/site_config.py) check the same things first with the exact
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


def bootstrap_plan(distro: str, mirror: Mirror, keys: tuple[str, ...]) -> list[Step]:
    validate_plan_inputs(distro, mirror, keys)
    return debian_plan(mirror, keys) if distro == "debian" else alpine_plan(mirror, keys)


def plan_hash(steps: list[Step]) -> str:
    """Changes whenever any step would run differently."""
    return hashlib.sha256(json.dumps([asdict(s) for s in steps]).encode()).hexdigest()[:16]
