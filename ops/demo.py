"""`make demo`: lab up -> `pulumi up` of the lab stack -> print what was deployed and how long it took."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from ops.lab_secrets import ensure_all
from ops.pulumi_cli import ROOT, PulumiCli


def main() -> None:
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "lab", "up"], cwd=ROOT, check=True, timeout=1800)
    ensure_all()
    cli = PulumiCli(ROOT, "lab")
    cli.ensure_stack()
    cli.run("up", "--yes", "--skip-preview", echo=True)
    print(json.dumps(cli.outputs(), indent=2))
    print(f"demo finished in {time.monotonic() - started:.0f}s")


if __name__ == "__main__":
    main()
