"""What a user of the provider has outside this repository: the artefacts `make dist` builds, and the
project's Pulumi CLI with neither the repository nor its venv in reach (no PYTHONPATH, no .venv on PATH)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from toolchain.pulumi_cli import ROOT, pulumi_env

SYSTEM_PATH = ("/usr/local/bin", "/usr/bin", "/bin")


@dataclass(frozen=True)
class Dist:
    archive: Path
    sdk_wheel: Path
    provider_wheel: Path


def build_dist(out: Path) -> Dist:
    subprocess.run([sys.executable, "-m", "toolchain.dist", "--out", str(out)], cwd=ROOT, check=True, timeout=1800)
    (archive,) = out.glob("pulumi-resource-lxd-*.tar.gz")
    (sdk_wheel,) = out.glob("pulumi_lxd-*.whl")
    (provider_wheel,) = out.glob("lxdha_lxd_provider-*.whl")
    return Dist(archive, sdk_wheel, provider_wheel)


def pinned(distribution: str) -> str:
    """The version requirements.txt pins `distribution` to (the SDK pin is the CLI's Python SDK)."""
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        name, _, version = line.partition("==")
        if name.strip().lower() == distribution:
            return version.strip()
    raise LookupError(f"requirements.txt pins no {distribution}")


def git_status() -> str:
    """The repository's `git status`, untracked files included: a build must leave it as it was."""
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout


def outside_env(home: Path, *path: Path) -> dict[str, str]:
    """The CLI's offline environment with its own Pulumi home and backend under `home`; on PATH only the
    built toolchain, `path` and the system's directories."""
    base = {name: value for name, value in os.environ.items() if name not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env = pulumi_env({**base, "PULUMI_HOME": str(home / "pulumi-home"),
                      "PULUMI_BACKEND_URL": f"file://{home / 'backend'}", "PULUMI_CONFIG_PASSPHRASE": "dist-test-only"})
    env.pop("PYTHONPATH")
    env["PATH"] = os.pathsep.join([str(ROOT / ".tools" / "bin"), *map(str, path), *SYSTEM_PATH])
    return env
