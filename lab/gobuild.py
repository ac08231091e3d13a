"""Building the pinned S3 server (MinIO) from its Go module once, cached by version.

Nothing in Debian 12 is a usable S3 server, so the lab compiles one. The build needs only the Go
module proxy; if the checksum database is unreachable the build is retried with sum verification
off for that one step (the version is still pinned exactly).
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path

from lab.config import MINIO_MODULE, MINIO_VERSION, LabConfig
from lab.proc import LabError, run
from toolchain.go_tools import GoBuildError
from toolchain.go_tools import go_binary as find_go

log = logging.getLogger(__name__)


def minio_path(config: LabConfig) -> Path:
    return config.cache_dir / "bin" / f"minio-{MINIO_VERSION}" / "minio"


def go_binary() -> str:
    try:
        return find_go()
    except GoBuildError as error:
        raise LabError(str(error)) from None


def ensure_minio(config: LabConfig) -> Path:
    target = minio_path(config)
    if target.exists():
        return target
    go = go_binary()
    log.info(f"building {MINIO_MODULE}@{MINIO_VERSION} with {go} (first run only; several minutes on 2 cores)")
    started = time.monotonic()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gobin-", dir=target.parent.parent) as gobin:
        env = {**os.environ, "GOBIN": gobin, "CGO_ENABLED": "0", "GOTOOLCHAIN": "local", "GOFLAGS": "-buildvcs=false"}
        args = [go, "install", "-trimpath", f"{MINIO_MODULE}@{MINIO_VERSION}"]
        result = run(args, env=env, timeout=3600, check=False)
        if result.returncode != 0 and ("verifying" in result.stderr or "sum.golang.org" in result.stderr):
            log.info("Go checksum database unreachable: retrying this pinned build with GONOSUMDB/GOFLAGS=-mod=mod")
            env.update({"GONOSUMDB": MINIO_MODULE.split("/")[0], "GOSUMDB": "off",
                        "GOFLAGS": "-mod=mod -buildvcs=false"})
            result = run(args, env=env, timeout=3600, check=False)
        if result.returncode != 0:
            raise LabError(f"building MinIO failed:\n{result.stderr[-3000:]}")
        built = Path(gobin) / "minio"
        os.replace(built, target)
    log.info(f"MinIO built in {time.monotonic() - started:.0f}s -> {target}")
    return target
