"""The base image for the baselines: the same Debian image the stack uses, present on every member.

LXD copies an image to a member at the first launch there; warming every member before timing
keeps that one-off copy out of whichever approach happens to run first.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from bench.lxc import Lxc
from lab.config import LabConfig
from lab.info import LabInfo
from lab.testing import copy_image_from_remote

WARM_PREFIX = "bnb-warm-"


def ensure_image() -> str:
    """Pulls the lab image into the cluster (a no-op when it is there); returns its fingerprint."""
    info = LabInfo(LabConfig.resolve())
    return copy_image_from_remote(info, info.lxd_client())


def warm_members(lxc: Lxc, fingerprint: str, members: list[str]) -> None:
    def warm(member: str) -> None:
        name = f"{WARM_PREFIX}{member}"
        lxc.run("init", f"lab:{fingerprint}", f"lab:{name}", "--target", member, timeout=600)
        lxc.run("delete", "--force", f"lab:{name}", timeout=180)

    with ThreadPoolExecutor(max_workers=len(members)) as pool:
        list(pool.map(warm, members))
