"""The dynamic-provider host: one server, with our changes applied, that stops on the engine's SIGINT."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from provisioners import dynamic_host

ROOT = Path(__file__).resolve().parents[2]


class _StopHere(Exception):
    """Raised by the fake grpc.server once it has seen the pool the host would serve with."""


def test_the_sdk_host_loads_without_serving_and_serves_with_our_pool() -> None:
    host = dynamic_host.load_sdk_host()  # returns: the SDK's own top-level main() call is left out
    assert callable(host["main"]) and "DynamicResourceProviderServicer" in host
    seen: dict[str, Any] = {}

    def server(pool: Any, **_kwargs: Any) -> None:
        seen["workers"] = pool._max_workers
        pool.shutdown()
        raise _StopHere

    host["futures"] = types.SimpleNamespace(ThreadPoolExecutor=dynamic_host._wider_pool)
    host["grpc"] = types.SimpleNamespace(server=server)
    with pytest.raises(_StopHere):
        host["main"]()
    assert seen["workers"] == dynamic_host.MAX_WORKERS


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a plugin started from a script or CI inherits it


def test_the_host_stops_on_sigint_even_when_started_with_sigint_ignored() -> None:
    process = subprocess.Popen([sys.executable, "-m", "provisioners.dynamic_host", "127.0.0.1:1"], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                               preexec_fn=_ignore_sigint)
    try:
        assert process.stdout is not None and process.stdout.readline().strip().isdigit()
        os.killpg(process.pid, signal.SIGINT)  # what the engine does when the update is over
        process.wait(timeout=4)  # the engine kills a plugin still running after 5 s
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    remaining = process.stdout.read()
    assert process.returncode == 0 and remaining == "", f"a second server started: {remaining!r}"
