"""The `lxc` client the baselines use, pointed at the cluster through the TCP load balancer.

The seed drove a remote behind a load balancer with the plain `lxc` CLI; the baselines do the same.
A private LXD_CONF dir holds the lab's client certificate and pins the cluster certificate, so no
other engineer's client config is touched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REMOTE = "lab"
DEFAULT_TIMEOUT_S = 300


class LxcError(RuntimeError):
    """An lxc command failed; carries its stderr."""


@dataclass
class Lxc:
    """Runs `lxc` against the lab remote, every call bounded by a timeout."""

    conf_dir: Path

    @classmethod
    def for_lab(cls, lab_data: dict[str, Any], parent: Path | None = None) -> Lxc:
        conf = Path(tempfile.mkdtemp(prefix="lxdha-bench-lxc-", dir=parent))
        lxd = lab_data["lxd"]
        shutil.copyfile(lxd["client_cert"], conf / "client.crt")
        shutil.copyfile(lxd["client_key"], conf / "client.key")
        os.chmod(conf / "client.key", 0o600)
        (conf / "servercerts").mkdir()
        shutil.copyfile(lxd["server_cert"], conf / "servercerts" / f"{REMOTE}.crt")
        config = {"default-remote": REMOTE, "remotes": {
            REMOTE: {"addr": lxd["url"], "protocol": "lxd", "auth_type": "tls", "public": False}}}
        (conf / "config.yml").write_text(yaml.safe_dump(config))
        return cls(conf)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LXD")}
        env["LXD_CONF"] = str(self.conf_dir)
        return env

    def run(self, *args: str, timeout: float = DEFAULT_TIMEOUT_S, check: bool = True,
            stdin: str | None = None) -> subprocess.CompletedProcess:
        result = subprocess.run(["lxc", *args], env=self.env(), input=stdin, capture_output=True, text=True,
                                timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise LxcError(f"lxc {' '.join(args[:3])} ... exited {result.returncode}: {result.stderr.strip()}")
        return result

    def json(self, *args: str, timeout: float = 60) -> Any:
        return json.loads(self.run(*args, "--format", "json", timeout=timeout).stdout)

    def remove(self) -> None:
        shutil.rmtree(self.conf_dir, ignore_errors=True)
