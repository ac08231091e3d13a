"""The baselines' bootstrap as one shell script, rendered from the project's own (unbaked) Debian `bootstrap_plan`.

Same steps as `pulumi up` runs (mirror sources + key, apt update/upgrade, openssh-server + python3,
authorized_keys from a local file, sshd enabled), so every approach does the same work; only the
way it is driven differs. The seed ran its script as one `lxc exec ... sh -c '...'`; so do we.
"""

from __future__ import annotations

from pathlib import Path

from provisioners.bootstrap_plan import Mirror, bootstrap_plan


def mirror_from_lab(data: dict) -> Mirror:
    mirror = data["mirror"]
    return Mirror(url=mirror["url"], suite=mirror["suite"], components=tuple(mirror["components"]),
                  signing_key=Path(mirror["key_armored"]).read_text())


def render(mirror: Mirror, public_key_file: Path) -> str:
    """One `set -e` script; each step runs in its own subshell so its own `set -e` holds."""
    keys = tuple(line.strip() for line in public_key_file.read_text().splitlines() if line.strip())
    steps = bootstrap_plan("debian", mirror, keys)  # its host key printed at the end is not read (the seed pinned none)
    body = "\n".join(f"# {step.name}\n(\n{step.script}\n)" for step in steps)
    return f"set -e\n{body}\n"
