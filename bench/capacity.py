"""Can the host start N more system containers? Checked before each approach, so a size that
cannot fit fails in a second with the reason instead of after minutes of launches.

Measured on the lab host: every unprivileged container's inotify instances (systemd, udevd,
logind, dbus, getty: about 9 per Debian container) count against one `fs.inotify.max_user_instances`
(128 by default). When it is used up, a new container's systemd-networkd never starts, so it never
asks for DHCP: with 128, about 14 Debian containers run on the whole host, everyone's included.
"""

from __future__ import annotations

from pathlib import Path

LIMIT_PATH = Path("/proc/sys/fs/inotify/max_user_instances")
PER_CONTAINER = 9
MARGIN = 4


def inotify_limit() -> int:
    return int(LIMIT_PATH.read_text().strip())


def inotify_in_use() -> int:
    """Open inotify instances on the host (all processes; containers' are the bulk)."""
    used = 0
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            used += sum(1 for fd in fd_dir.iterdir() if _is_inotify(fd))
        except OSError:  # the process exited, or is not ours to read
            continue
    return used


def _is_inotify(fd: Path) -> bool:
    try:
        return fd.readlink().name == "anon_inode:inotify"
    except OSError:
        return False


def room_for() -> int:
    """How many more Debian system containers can boot right now."""
    return max(0, (inotify_limit() - inotify_in_use() - MARGIN) // PER_CONTAINER)


def capacity_problem(count: int) -> str | None:
    limit, used = inotify_limit(), inotify_in_use()
    room = max(0, (limit - used - MARGIN) // PER_CONTAINER)
    if count <= room:
        return None
    return (f"host capacity: {count} containers need ~{count * PER_CONTAINER} inotify instances, "
            f"{used} of fs.inotify.max_user_instances={limit} are in use (room for {room}); containers beyond "
            "that never start systemd-networkd and get no DHCP lease. Fix (host, coordinated): "
            f"sysctl -w fs.inotify.max_user_instances={max(1024, limit * 8)}")
