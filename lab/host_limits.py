"""Host kernel limits a cluster of system containers needs, raised at `up` and restored at `down`.

Every Debian system container takes about 9 inotify instances (systemd, udevd, logind, dbus,
getty), all counted against the host's `fs.inotify.max_user_instances` (128 by default): without
this a dozen containers is the ceiling, which is what LXD's production-setup guide warns about.
The original values are saved in the lab dir, so `down` puts them back and leaves nothing behind.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from lab.config import LabConfig

log = logging.getLogger(__name__)

WANTED = {"fs.inotify.max_user_instances": 1024, "fs.inotify.max_user_watches": 1048576}


def _path(key: str) -> Path:
    return Path("/proc/sys") / key.replace(".", "/")


def _saved(config: LabConfig) -> Path:
    return config.lab_dir / "host-limits.json"


def raise_limits(config: LabConfig) -> None:
    saved = _saved(config)
    originals = json.loads(saved.read_text()) if saved.exists() else {}
    for key, wanted in WANTED.items():
        current = int(_path(key).read_text().split()[0])
        originals.setdefault(key, current)
        if current < wanted:
            _path(key).write_text(str(wanted))
            log.info(f"host: {key} {current} -> {wanted} (restored at down)")
    saved.write_text(json.dumps(originals))


def restore_limits(config: LabConfig) -> None:
    saved = _saved(config)
    if not saved.exists():
        return
    for key, original in json.loads(saved.read_text()).items():
        _path(key).write_text(str(original))
    saved.unlink()
