"""The members' `default` storage pool: btrfs on a sparse loop file unless LAB_STORAGE=dir.

With `dir`, every instance create unpacks the whole image onto the member; with btrfs a member
unpacks an image once and each instance is a snapshot of it. Measured on this 2-core machine while
a test run loaded it: a create took 4-30 s on `dir` and 0.6-0.9 s on btrfs (after the first,
7.9 s), six parallel creates 30 s against 2.8 s. Real clusters use btrfs or ZFS for the same reason;
`dir` stays for kernels without btrfs.

The loop file lives in the member's LXD dir and is mounted inside the member's own mount namespace,
so the mount goes when the member's holder process does; LXD marks the loop device auto-clearing.
`down` still detaches any loop device left backed by a lab file, and verify_clean() reports one.
"""

from __future__ import annotations

from pathlib import Path

from cluster.polling import holds_within
from lab.proc import LabError, run

POOL_NAME = "default"
POOL_SIZE = "20GiB"  # sparse: a member's file grows only with what it holds
LOOP_SYSFS = Path("/sys/block")


def required_tools(driver: str) -> dict[str, str]:
    """Tool -> Debian package the driver needs on the machine."""
    return {"mkfs.btrfs": "btrfs-progs", "btrfs": "btrfs-progs", "losetup": "mount"} if driver == "btrfs" else {}


def check_kernel(driver: str) -> None:
    if driver != "btrfs" or _kernel_has_btrfs():
        return
    run(["modprobe", "btrfs"], timeout=30, check=False)
    if not _kernel_has_btrfs():
        raise LabError("the kernel offers no btrfs (the lab's default storage, LAB_STORAGE=btrfs): "
                       "load the btrfs module, or set LAB_STORAGE=dir (every instance create then unpacks its image)")


def _kernel_has_btrfs() -> bool:
    return any(line.split()[-1] == "btrfs" for line in Path("/proc/filesystems").read_text().splitlines() if line)


def bootstrap_pool(driver: str) -> dict:
    """The pool as the first member's preseed declares it."""
    pool: dict = {"name": POOL_NAME, "driver": driver}
    if driver == "btrfs":
        pool["config"] = {"size": POOL_SIZE}
    return pool


def join_member_config(driver: str) -> list[dict[str, str]]:
    """The member-specific pool keys a joining member's preseed must answer."""
    keys = {"source": ""}
    if driver == "btrfs":
        keys["size"] = POOL_SIZE
    return [{"entity": "storage-pool", "name": POOL_NAME, "key": key, "value": value} for key, value in keys.items()]


def loop_devices_under(lab_dir: Path, sysfs: Path = LOOP_SYSFS) -> dict[str, str]:
    """Loop device -> backing file, for the devices backed by a file in the lab dir."""
    prefix = str(lab_dir).rstrip("/") + "/"
    found = {}
    for backing in sorted(sysfs.glob("loop*/loop/backing_file")):
        try:
            path = backing.read_text().strip()
        except OSError:  # detached between the listing and the read
            continue
        if path.startswith(prefix):
            found[f"/dev/{backing.parent.parent.name}"] = path
    return found


def detach_loops(lab_dir: Path, timeout_s: float = 15.0) -> None:
    """Detach what the members' pools left attached, and wait (bounded) until the kernel let go.

    Auto-clear normally did it already; a namespace the kernel is still tearing down releases its
    mount, and so the device, a moment later. Whatever is still attached is for verify_clean() to report.
    """
    for device in loop_devices_under(lab_dir):
        run(["losetup", "-d", device], timeout=30, check=False)
    holds_within(lambda: not loop_devices_under(lab_dir), timeout_s=timeout_s, poll_s=0.2)
