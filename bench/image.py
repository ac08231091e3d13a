"""The base image for the baselines: the same Debian image the stack uses, present on every member.

LXD copies an image to a member at the first launch there; warming every member before timing
keeps that one-off copy out of whichever approach happens to run first.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from bench.lxc import Lxc
from cluster.images import copy_image
from lab.config import LabConfig
from lab.info import LabInfo

WARM_PREFIX = "bnb-warm-"
HOLD_ALIAS = "bench/baselines"


def ensure_image() -> str:
    """Pulls the lab image into the cluster (a no-op when it is there); returns its fingerprint."""
    info = LabInfo(LabConfig.resolve())
    return copy_image(info.lxd_client(), info.image())["fingerprint"]


def warm_members(lxc: Lxc, fingerprint: str, members: list[str]) -> None:
    def warm(member: str) -> None:
        name = f"{WARM_PREFIX}{member}"
        lxc.run("init", f"lab:{fingerprint}", f"lab:{name}", "--target", member, timeout=600)
        lxc.run("delete", "--force", f"lab:{name}", timeout=180)

    with ThreadPoolExecutor(max_workers=len(members)) as pool:
        list(pool.map(warm, members))


@contextlib.contextmanager
def held(lxc: Lxc, fingerprint: str) -> Iterator[None]:
    """Keeps the image in the cluster for the whole matrix. Destroying a bench stack deletes the image
    its alias pointed at once no alias is left (the product's clean-up); the baselines launch it by
    fingerprint, so without an alias of their own the run after `ours` finds no image."""
    lxc.run("image", "alias", "delete", f"lab:{HOLD_ALIAS}", check=False, timeout=60)
    lxc.run("image", "alias", "create", f"lab:{HOLD_ALIAS}", fingerprint, timeout=60)
    try:
        yield
    finally:
        lxc.run("image", "alias", "delete", f"lab:{HOLD_ALIAS}", check=False, timeout=60)
