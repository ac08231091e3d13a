"""The pinned registry build, run on this machine (no lab): it reports the pinned version, and the
OCI conformance suite with our fixed spec version and disabled areas passes against it over TLS.

Filesystem storage and no login here, so it takes seconds (each request with a login costs the
registry a bcrypt check, ~1500 of them per run); the lab suite runs the same suite through the VIP
with S3 and htpasswd, as clients use it."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from cluster.polling import wait_until
from config.registry import DEFAULT_SERVER_VERSION
from lab.pki import issue_self_signed
from toolchain.conformance import run_suite
from toolchain.go_tools import CONFORMANCE, ensure_built
from toolchain.registry_artifact import built


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The built registry on loopback: (host:port, CA file)."""
    work = tmp_path_factory.mktemp("registry")
    cert, key = issue_self_signed("lxdha e2e registry", ips=["127.0.0.1"])
    (work / "tls.crt").write_text(cert)
    (work / "tls.key").write_text(key)
    port, debug_port = _free_port(), _free_port()
    (work / "config.yml").write_text(yaml.safe_dump({
        "version": 0.1, "log": {"level": "warn"},
        "storage": {"filesystem": {"rootdirectory": str(work / "data")}, "delete": {"enabled": True}},
        "http": {"addr": f"127.0.0.1:{port}", "secret": "e2e-shared-secret",
                 "tls": {"certificate": str(work / "tls.crt"), "key": str(work / "tls.key")},
                 "debug": {"addr": f"127.0.0.1:{debug_port}"}},
    }))
    with (work / "registry.log").open("w") as log:
        server = subprocess.Popen([str(built().path), "serve", str(work / "config.yml")], stdout=log, stderr=log,
                                  env={"PATH": "/usr/bin:/bin", "OTEL_TRACES_EXPORTER": "none"})
    try:
        def healthy() -> bool:
            assert server.poll() is None, (work / "registry.log").read_text()
            return requests.get(f"http://127.0.0.1:{debug_port}/debug/health", timeout=2).status_code == 200

        wait_until(healthy, timeout_s=30, poll_s=0.2, what="the registry healthy", not_yet=(requests.RequestException,))
        yield f"127.0.0.1:{port}", work / "tls.crt"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_build_reports_the_pinned_version() -> None:
    output = subprocess.run([str(built().path), "--version"], capture_output=True, text=True, timeout=30,
                            check=True).stdout
    assert output.split()[-1] == DEFAULT_SERVER_VERSION


def test_oci_conformance_passes_with_only_the_declared_areas_disabled(registry: tuple[str, Path],
                                                                      tmp_path: Path) -> None:
    address, ca_file = registry
    result = run_suite(ensure_built(CONFORMANCE), address, "", "", ca_file, tmp_path)
    print("\n" + result.summary())
    assert result.problems() == [], result.output[-3000:]
