"""The two checkouts the migration benchmark drives: the pre-native-provider code in a temporary git
worktree (with its own venv), and this one. Both use one LXDHA_STATE_DIR (backend, passphrase, keys).

Each checkout runs `pulumi` through its own `toolchain.pulumi_cli` in its own venv, exactly as its users did:
the old code's program and dynamic providers must never see this checkout's modules.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolchain.process_group import run_in_group
from toolchain.pulumi_cli import ROOT

OLD_COMMIT = "ceb7797"  # the last main before the native provider
SETUP_TIMEOUT_S = 1800
PULUMI_TIMEOUT_S = 2400
# run inside a checkout with its own python: its PulumiCli, its environment, one JSON line on stdout
UP = ("import json, sys\nfrom toolchain.pulumi_cli import ROOT, PulumiCli\ncli = PulumiCli(ROOT, sys.argv[1])\n"
      "cli.ensure_stack()\nprint(json.dumps(cli.up_summary()))")
DESTROY = ("import json, sys\nfrom toolchain.pulumi_cli import ROOT, PulumiCli\ncli = PulumiCli(ROOT, sys.argv[1])\n"
           "cli.destroy()\ncli.run('stack', 'rm', '--yes')\nprint(json.dumps({'destroyed': sys.argv[1]}))")


class CheckoutError(RuntimeError):
    """A command in one of the checkouts failed; the message carries the end of its output."""


@dataclass(frozen=True)
class Checkout:
    path: Path

    @property
    def python(self) -> Path:
        return self.path / ".venv" / "bin" / "python"

    def env(self) -> dict[str, str]:
        """This process's environment (LXDHA_STATE_DIR included) without another checkout's paths."""
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                      if p and not p.startswith(str(ROOT)))
        return env

    def run(self, args: list[str], timeout_s: float = PULUMI_TIMEOUT_S) -> subprocess.CompletedProcess:
        result = run_in_group(args, self.path, self.env(), timeout_s)
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-25:])
            raise CheckoutError(f"{' '.join(args[:4])} in {self.path} exited {result.returncode}:\n{tail}")
        return result

    def driver(self, script: str, stack: str) -> dict[str, Any]:
        """Runs one of the scripts above with this checkout's python; its last stdout line is JSON."""
        lines = self.run([str(self.python), "-c", script, stack]).stdout.strip().splitlines()
        return json.loads(lines[-1])

    def module(self, module: str, *args: str) -> subprocess.CompletedProcess:
        python = str(self.python) if self.python.exists() else sys.executable
        return run_in_group([python, "-m", module, *args], self.path, {**self.env(), "PYTHONPATH": str(self.path)},
                            PULUMI_TIMEOUT_S)

    def setup(self) -> None:
        """`make setup`: its own venv, the cached Pulumi CLI of its toolchain pins."""
        self.run(["make", "setup"], timeout_s=SETUP_TIMEOUT_S)

    def write_stack_file(self, stack: str, text: str) -> Path:
        path = self.path / f"Pulumi.{stack}.yaml"
        path.write_text(text)
        return path

    def stack_file(self, stack: str) -> str:
        return (self.path / f"Pulumi.{stack}.yaml").read_text()


@contextlib.contextmanager
def old_checkout(parent: Path, commit: str = OLD_COMMIT) -> Iterator[Checkout]:
    """`commit` in a temporary worktree under `parent` (not set up yet); removed afterwards."""
    path = parent / "old"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), commit], check=True,
                   capture_output=True, text=True, timeout=300)
    try:
        yield Checkout(path)
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)], check=False,
                       capture_output=True, text=True, timeout=300)
        subprocess.run(["git", "-C", str(ROOT), "worktree", "prune"], check=False, capture_output=True, timeout=60)
