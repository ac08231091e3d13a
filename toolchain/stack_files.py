"""Keeps the committed lab stack file (`Pulumi.lab.yaml`) exactly as committed.

The passphrase secrets provider writes an `encryptionsalt` into the stack file, and that salt belongs
to one machine's passphrase (.state/passphrase): committed, it breaks every other machine; written by
`make demo`, it leaves git dirty. So for the lab stack the salt lives in a private copy under .state/:
every command that reads stack config gets `--config-file <private copy>`, which is the committed
file plus this machine's salt, re-made before each command (edits to Pulumi.lab.yaml apply at once).
The production stack is different on purpose: its team shares a passphrase, so its salt is committed.
"""

from __future__ import annotations

from pathlib import Path

PRIVATE_SALT_STACKS = ("lab",)
# commands that read the stack's config file and accept --config-file
CONFIG_FILE_COMMANDS = ("up", "preview", "destroy", "refresh", "import", "watch", "config", "logs")
SALT_KEY = "encryptionsalt:"


def without_salt(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith(SALT_KEY))


def salt_line(text: str) -> str | None:
    return next((line.rstrip("\n") for line in text.splitlines() if line.startswith(SALT_KEY)), None)


class PrivateSalt:
    """The committed stack file of `stack` in `workdir`, and its private copy holding the salt."""

    def __init__(self, workdir: Path, stack: str, state_dir: Path) -> None:
        self.committed = workdir / f"Pulumi.{stack}.yaml"
        self.private = state_dir / "stacks" / f"Pulumi.{stack}.yaml"

    @staticmethod
    def applies(stack: str) -> bool:
        return stack in PRIVATE_SALT_STACKS

    def refresh(self) -> Path:
        """Re-makes the private copy from the committed file and the salt (moved out of the committed file
        if `stack init` or a `config set --secret` just wrote it there); returns its path."""
        committed = self.committed.read_text() if self.committed.exists() else "config: {}\n"
        salt = salt_line(committed) or (salt_line(self.private.read_text()) if self.private.exists() else None)
        if salt_line(committed):
            self.committed.write_text(without_salt(committed))
        self.private.parent.mkdir(parents=True, exist_ok=True)
        body = without_salt(committed)
        self.private.write_text(body + ("" if body.endswith("\n") else "\n") + (f"{salt}\n" if salt else ""))
        return self.private

    def forget(self) -> None:
        """The stack was removed from the backend: its salt means nothing any more."""
        self.private.unlink(missing_ok=True)
