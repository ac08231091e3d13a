"""LXD naming rules, checked before anything is created."""

from __future__ import annotations

import re

# LXD instance/profile names: hostname rules (RFC 1123 label), at most 63 characters.
NAME_RE = re.compile(r"^[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$")


def instance_name_problem(name: str) -> str | None:
    """Why `name` cannot be an LXD instance or profile name, or None when it can."""
    if not isinstance(name, str) or not name:
        return "a name is required"
    if len(name) > 63:
        return f"{name[:20]}... is {len(name)} characters; LXD names are at most 63"
    if not NAME_RE.match(name):
        return (
            f"{name!r} is not a valid LXD name: use letters, digits and '-', start with a letter, "
            "and do not end with '-'"
        )
    return None
