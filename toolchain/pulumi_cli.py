"""Runs the project's own Pulumi CLI fully offline: file backend, passphrase secrets, no downloads.

Every place that runs `pulumi` (Makefile, demo, tests) goes through `pulumi_env()` so they all see
the same backend, plugins and passphrase.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolchain.process_group import run_in_group
from toolchain.stack_files import CONFIG_FILE_COMMANDS, PrivateSalt

ROOT = Path(__file__).resolve().parent.parent
STATE_DIR = Path(os.environ.get("LXDHA_STATE_DIR", ROOT / ".state"))


def passphrase_file() -> Path:
    """The lab stack's generated passphrase (git-ignored, 0600); created on first use."""
    path = STATE_DIR / "passphrase"
    if not path.exists():
        STATE_DIR.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
    return path


def pulumi_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for the CLI: our toolchain first on PATH, local file backend unless overridden."""
    env = dict(os.environ if base is None else base)
    env["PATH"] = os.pathsep.join([str(ROOT / ".tools" / "bin"), str(ROOT / ".venv" / "bin"), env.get("PATH", "")])
    env.setdefault("PULUMI_HOME", str(STATE_DIR / "pulumi-home"))
    env.setdefault("PULUMI_BACKEND_URL", f"file://{STATE_DIR / 'backend'}")
    if "PULUMI_CONFIG_PASSPHRASE" not in env:
        env.setdefault("PULUMI_CONFIG_PASSPHRASE_FILE", str(passphrase_file()))
    env["PULUMI_SKIP_UPDATE_CHECK"] = "true"
    env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] = "true"
    env["PULUMI_DISABLE_REGISTRY_RESOLVE"] = "true"
    # refresh and destroy run the program, so providers use today's connection settings, not the ones
    # recorded in the state (after a certificate rotation those no longer work)
    env.setdefault("PULUMI_RUN_PROGRAM", "true")
    # refresh reports every difference between the state and the cluster (a moved container's location,
    # a stopped one's status), not only what the next `up` would change
    env.setdefault("PULUMI_ENABLE_LEGACY_REFRESH_DIFF", "true")
    env["PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK"] = "true"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        env.pop(name, None)  # the program pins LXD certificates itself
    if env["PULUMI_BACKEND_URL"].startswith("file://"):
        Path(env["PULUMI_BACKEND_URL"].removeprefix("file://")).mkdir(parents=True, exist_ok=True)
    return env


SHOW_SECRETS = "--show-secrets"
WITHHELD = "(output withheld: the command was run with --show-secrets)"


def shows_secrets(args: list[str] | tuple[str, ...]) -> bool:
    """True for a command whose standard output holds decrypted secrets (config, stack output/export)."""
    return SHOW_SECRETS in args


def withheld(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    """`result` without its standard output (what a --show-secrets command printed)."""
    return subprocess.CompletedProcess(result.args, result.returncode, WITHHELD, result.stderr)


class PulumiError(RuntimeError):
    """A pulumi command failed; carries its output for the caller to show (never --show-secrets output)."""

    def __init__(self, args: list[str], result: subprocess.CompletedProcess) -> None:
        if shows_secrets(args):
            result = withheld(result)
        super().__init__(f"pulumi {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
        self.result = result


@dataclass
class PulumiCli:
    """One project directory and stack, driven through the real CLI."""

    workdir: Path
    stack: str
    env: dict[str, str] = field(default_factory=pulumi_env, repr=False)  # may hold the passphrase, S3 keys
    timeout_s: float = 1800

    def run(self, *args: str, check: bool = True, echo: bool = False,
            stdin: str | None = None) -> subprocess.CompletedProcess:
        cmd = ["pulumi", *args, "--stack", self.stack, "--non-interactive"] if self._takes_stack(args) else [
            "pulumi", *args, "--non-interactive"]
        if args and args[0] in CONFIG_FILE_COMMANDS and PrivateSalt.applies(self.stack):
            cmd += ["--config-file", str(self._salt().refresh())]
        if echo:
            print("$ " + " ".join(cmd), file=sys.stderr, flush=True)
        result = run_in_group(cmd, self.workdir, self.env, self.timeout_s, stdin=stdin)
        if echo:
            sys.stderr.write((WITHHELD + "\n" if shows_secrets(args) else result.stdout) + result.stderr)
        if check and result.returncode != 0:
            raise PulumiError(list(args), result)
        return result

    @staticmethod
    def _takes_stack(args: tuple[str, ...]) -> bool:
        return bool(args) and args[0] not in ("version", "plugin", "login", "about", "package")

    def _salt(self) -> PrivateSalt:
        return PrivateSalt(self.workdir, self.stack, STATE_DIR)

    def ensure_stack(self) -> None:
        listed = self.run("stack", "ls", "--json", check=False)
        names = {entry["name"] for entry in json.loads(listed.stdout or "[]")} if listed.returncode == 0 else set()
        if self.stack not in names:
            self._drop_foreign_salt()
            if PrivateSalt.applies(self.stack):
                self._salt().forget()
            subprocess.run(["pulumi", "stack", "init", self.stack, "--non-interactive"], cwd=self.workdir,
                           env=self.env, capture_output=True, text=True, check=True, timeout=120)
            if PrivateSalt.applies(self.stack):
                self._salt().refresh()  # moves the new salt out of the committed file

    def _drop_foreign_salt(self) -> None:
        """A new stack in this backend gets a salt for this machine's passphrase; a salt left in the
        stack file by another machine would make every command fail with "incorrect passphrase"."""
        stack_file = self.workdir / f"Pulumi.{self.stack}.yaml"
        if not stack_file.exists():
            return
        lines = stack_file.read_text().splitlines(keepends=True)
        kept = [line for line in lines if not line.startswith("encryptionsalt:")]
        if len(kept) != len(lines):
            if any(": secure:" in line or "secure: " in line for line in kept):
                raise RuntimeError(f"{stack_file} holds values encrypted for another passphrase; "
                                   "set them again with `pulumi config set --secret` after removing them")
            stack_file.write_text("".join(kept))

    def set_secret(self, key: str, value: str) -> None:
        """`pulumi config set --secret`, the value read from standard input: never on a command line."""
        self.run("config", "set", "--secret", key, stdin=value)

    def preview_json(self, *extra: str) -> dict[str, Any]:
        return json.loads(self.run("preview", "--json", *extra).stdout)

    def events(self, command: str, *extra: str) -> list[dict[str, Any]]:
        """`pulumi up|refresh|destroy --json` streams engine events, one JSON object per line."""
        stdout = self.run(command, "--yes", "--json", "--skip-preview", *extra).stdout
        return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]

    def up_events(self, *extra: str) -> list[dict[str, Any]]:
        return self.events("up", *extra)

    def summary(self, command: str, *extra: str) -> dict[str, Any]:
        """The engine's summary event of an up, refresh or destroy: resourceChanges, result, durationSeconds."""
        summaries = [event["summaryEvent"] for event in self.events(command, *extra) if "summaryEvent" in event]
        if not summaries:
            raise RuntimeError(f"pulumi {command} printed no summary event")
        return summaries[-1]

    def up_summary(self, *extra: str) -> dict[str, Any]:
        return self.summary("up", *extra)

    def destroy(self, *extra: str) -> subprocess.CompletedProcess:
        """Destroy with today's provider settings (the program runs); a program that cannot run (its
        config is broken) falls back to the settings recorded in the state."""
        result = self.run("destroy", "--yes", "--skip-preview", *extra, check=False)
        if result.returncode == 0:
            return result
        return self.run("destroy", "--yes", "--skip-preview", "--run-program=false", *extra)

    def outputs(self) -> dict[str, Any]:
        return json.loads(self.run("stack", "output", "--json", "--show-secrets").stdout)

    def exported_state(self) -> str:
        return self.run("stack", "export").stdout


def change_counts(summary: dict[str, Any]) -> dict[str, int]:
    """resourceChanges of an up summary without the 'same' entry: {} means nothing changed."""
    return {op: count for op, count in summary.get("resourceChanges", {}).items() if op != "same" and count}
