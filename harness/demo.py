"""`make demo`: lab up -> `pulumi up` of the lab stack -> skopeo pushes an image to the registry VIP and
pulls it back -> prints the VIP, the replicas and their members, and how long each part took."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from harness.lab_secrets import TLS_CERT, ensure_all, registry_login
from harness.registry_client import RegistryAccess, push_and_pull
from lab.config import LabConfig
from lab.lease import lab_session
from ops import entry
from toolchain.pulumi_cli import ROOT, PulumiCli


def _step(name: str, started: float, timings: dict[str, float]) -> float:
    now = time.monotonic()
    timings[name] = round(now - started, 1)
    print(f"== {name}: {timings[name]}s", flush=True)
    return now


def main() -> int:
    argparse.ArgumentParser(prog="python -m harness.demo", description=__doc__).parse_args()  # --help, nothing else
    with lab_session(LabConfig.resolve().cache_dir, "make demo"):
        return _demo()


def _demo() -> int:
    timings: dict[str, float] = {}
    begin = mark = time.monotonic()
    subprocess.run([sys.executable, "-m", "lab", "up"], cwd=ROOT, check=True, timeout=1800)
    mark = _step("lab up", mark, timings)
    ensure_all()
    cli = PulumiCli(ROOT, "lab")
    cli.ensure_stack()
    cli.run("up", "--yes", "--skip-preview", echo=True)
    mark = _step("pulumi up (lab stack)", mark, timings)
    registry = cli.outputs()["registry"]
    user, password = registry_login()
    access = RegistryAccess(registry["url"].removeprefix("https://"), user, password, TLS_CERT.read_text())
    result = push_and_pull(access)
    _step("skopeo push + pull through the VIP", mark, timings)
    print()
    print(f"registry VIP:  {registry['vip']}  ({registry['url']}, TLS with .state/registry/tls.crt, "
          f"user {user!r}, password in .state/registry/users)")
    for replica in registry["replicas"]:
        print(f"  replica {replica['name']:<14} on member {replica['member']:<4} {replica['ipv4']}")
    print(f"pushed:        {result['reference']}  {result['digest']}  ({result['push_s']}s)")
    matches = "matches" if result["pulled_manifest"] == result["digest"] else "DOES NOT MATCH"
    print(f"pulled back:   {result['pulled_manifest']}  ({result['pull_s']}s, {matches})")
    print(f"demo finished in {time.monotonic() - begin:.0f}s  {timings}")
    return 0 if result["pulled_manifest"] == result["digest"] else 1


if __name__ == "__main__":
    entry.run(main, "demo")
