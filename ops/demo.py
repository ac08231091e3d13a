"""`make demo`: lab up -> `pulumi up` of the lab stack -> print what was deployed and how long it took."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from ops.pulumi_cli import ROOT, PulumiCli

SSH_KEY = ROOT / ".state" / "ssh" / "id_ed25519"


def ensure_ssh_key() -> None:
    """The key Ansible logs in with on the lab (git-ignored, generated once)."""
    if not SSH_KEY.exists():
        SSH_KEY.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "lxdha-lab", "-f", str(SSH_KEY)],
                       check=True, timeout=30)


def main() -> None:
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "lab", "up"], cwd=ROOT, check=True, timeout=1800)
    ensure_ssh_key()
    cli = PulumiCli(ROOT, "lab")
    cli.ensure_stack()
    cli.run("up", "--yes", "--skip-preview", echo=True)
    print(json.dumps(cli.outputs(), indent=2))
    print(f"demo finished in {time.monotonic() - started:.0f}s")


if __name__ == "__main__":
    main()
