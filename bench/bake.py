"""The baked image, made once per bench session and timed on its own, never inside a measured `up`.

A stack of its own (`bench-<name>`, no containers, `lxdha:image.bake` on) bakes it; the stack stays up
for the whole session, so its alias holds the image: the measured stacks find it by its plan, point
their own alias at it and, when destroyed, sweep only images they baked themselves. Destroying the
bake stack at the end removes the image the product's way (alias gone, then nothing uses it).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from bench.image import warm_members
from bench.lxc import Lxc
from harness.lab_stacks import lab_stack, stack_config

STACK_PREFIX = "bench"


@dataclass(frozen=True)
class Bake:
    """`seconds`: the bake stack's `up` (copy of the base image is already there, so: builder container,
    package steps, publish, alias). `reused`: an image of the same plan already existed, nothing baked."""

    seconds: float
    fingerprint: str
    reused: bool

    def record(self) -> dict[str, Any]:
        return asdict(self)


def bake_overrides(stack: str, packages: tuple[str, ...] = ()) -> dict[str, Any]:
    """A stack that only bakes: no containers, no registry, bake on (with extra `packages`)."""
    image = {**stack_config(stack, {})["lxdha:image"], "bake": True}
    if packages:
        image["bakePackages"] = list(packages)
    return {"lxdha:image": image, "lxdha:containers": {"count": 0, "prefix": "bnbake", "group": "bnbake"}}


def _fingerprints(lxc: Lxc) -> set[str]:
    return {image["fingerprint"] for image in lxc.json("image", "list", "lab:")}


@contextlib.contextmanager
def baked(lxc: Lxc, members: list[str], name: str = "bake", packages: tuple[str, ...] = ()) -> Iterator[Bake]:
    """Bakes (timed), warms the image on every member as the baselines' image is warmed, and holds it
    until the block ends; then the bake stack is destroyed."""
    stack = f"{STACK_PREFIX}-{name}"
    before = _fingerprints(lxc)
    with lab_stack(name, bake_overrides(stack, packages), prefix=STACK_PREFIX) as cli:
        started = time.monotonic()
        summary = cli.up_summary()
        seconds = round(time.monotonic() - started, 1)
        if summary.get("result") != "succeeded":
            raise RuntimeError(f"bake stack {stack}: pulumi up {summary.get('result')}")
        fingerprint = cli.outputs()["baked_image"]["fingerprint"]
        warm_members(lxc, fingerprint, members)
        yield Bake(seconds, fingerprint, reused=fingerprint in before)
