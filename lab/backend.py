"""The server the lab runs on its members and its image remote: Debian's LXD 5.0 (the default) or Incus 6.0
LTS (`LAB_BACKEND=incus`; `make setup` installs it from bookworm-backports, lab/incus-packages.txt).

What differs as the lab drives the two daemons lives here (binaries, the state-directory variable, the
admin and client commands, how a client is first trusted), so the rest of the lab reads the same
for both. What differs in their REST API is the cluster layer's (cluster/), not the lab's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT = "lxd"


@dataclass(frozen=True)
class Backend:
    name: str
    daemon: tuple[str, ...]  # the daemon's argv before its flags
    dir_variable: str  # where the daemon and its CLIs find its state directory
    conf_variable: str  # where its client CLI keeps its own config
    admin: tuple[str, ...]  # the daemon-side command: init --preseed, shutdown
    client: str  # the client CLI: cluster add
    trust_password: bool  # core.trust_password exists (LXD 5.0); Incus trusts new clients by token only
    tools: dict[str, str] = field(default_factory=dict)  # tool -> Debian package

    def env(self, state_dir: Path) -> dict[str, str]:
        """This environment without either server's variables, pointed at `state_dir`."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LXD", "INCUS"))}
        env[self.dir_variable] = str(state_dir)
        return env

    def client_env(self, state_dir: Path, lab_dir: Path) -> dict[str, str]:
        """`env` for the client CLI, its own config kept in the lab's dir (never the user's)."""
        env = self.env(state_dir)
        env[self.conf_variable] = str(lab_dir / f"{self.client}-client")
        return env

    def daemon_argv(self, state_dir: Path) -> list[str]:
        return [*self.daemon, "--group", "root", "--logfile", str(self.log_file(state_dir))]

    def log_file(self, state_dir: Path) -> Path:
        return state_dir / f"{self.name}.log"

    def init_argv(self) -> list[str]:
        return [*self.admin, "init", "--preseed"]

    def shutdown_argv(self, timeout_s: int) -> list[str]:
        return [*self.admin, "shutdown", "--timeout", str(timeout_s)]

    def cluster_add_argv(self, member: str) -> list[str]:
        return [self.client, "cluster", "add", member, "--quiet"]

    def trust_token_argv(self, client_name: str) -> list[str]:
        """Issues a one-time trust token for a new client (both servers; Incus has nothing else)."""
        if self.trust_password:
            return [self.client, "config", "trust", "add", "--name", client_name, "--quiet"]
        return [self.client, "config", "trust", "add", client_name, "--quiet"]


LXD = Backend("lxd", ("lxd",), "LXD_DIR", "LXD_CONF", ("lxd",), "lxc", trust_password=True,
              tools={"lxd": "lxd", "lxc": "lxd-client"})
INCUS = Backend("incus", ("/usr/libexec/incus/incusd",), "INCUS_DIR", "INCUS_CONF", ("incus", "admin"), "incus",
                trust_password=False,
                tools={"/usr/libexec/incus/incusd": "incus-base (bookworm-backports)",
                       "incus": "incus-client (bookworm-backports)"})
BACKENDS = {backend.name: backend for backend in (LXD, INCUS)}


def backend_named(name: str) -> Backend:
    if name not in BACKENDS:
        raise ValueError(f"LAB_BACKEND must be one of {', '.join(BACKENDS)}, got {name!r}")
    return BACKENDS[name]
