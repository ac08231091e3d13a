"""Measures service availability through a VIP: a background loop of short HTTPS requests, and the
longest stretch of failures (the failover gap) while something is done to the service."""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests

PROBE_INTERVAL_S = 0.05
PROBE_TIMEOUT_S = 0.3
MAX_PROBE_S = 600  # a probe never outlives this, even if the caller forgets to stop it


@dataclass
class ProbeResult:
    attempts: int = 0
    failures: int = 0
    longest_gap_s: float = 0.0
    gaps: list[float] = field(default_factory=list)
    gap_starts: list[float] = field(default_factory=list)  # seconds after the probe started, one per gap


class VipProbe:
    """GET https://<vip>/v2/ (401 means alive: the registry answered) until stopped."""

    def __init__(self, url: str, ca_cert_pem: str, alive_statuses: tuple[int, ...] = (200, 401),
                 max_s: float = MAX_PROBE_S) -> None:
        self.url = url
        self.alive_statuses = alive_statuses
        self.max_s = max_s
        self._ca = tempfile.NamedTemporaryFile("w", suffix=".crt", delete=False)  # noqa: SIM115 - lives with probe
        self._ca.write(ca_cert_pem)
        self._ca.close()
        self._stop = threading.Event()
        self.result = ProbeResult()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _alive(self, session: requests.Session) -> bool:
        try:
            response = session.get(self.url, timeout=PROBE_TIMEOUT_S, verify=self._ca.name)
            return response.status_code in self.alive_statuses
        except requests.RequestException:
            return False

    def _loop(self) -> None:
        session = requests.Session()
        session.trust_env = False
        session.headers["Connection"] = "close"  # every probe a new connection: it must reach whoever holds the VIP
        started = time.monotonic()
        failing_since: float | None = None
        while not self._stop.is_set() and time.monotonic() - started < self.max_s:
            now = time.monotonic()
            alive = self._alive(session)
            self.result.attempts += 1
            if alive and failing_since is not None:
                self._close_gap(time.monotonic() - failing_since, failing_since - started)
                failing_since = None
            elif not alive:
                self.result.failures += 1
                failing_since = failing_since if failing_since is not None else now
            time.sleep(max(0.0, PROBE_INTERVAL_S - (time.monotonic() - now)))
        if failing_since is not None:
            self._close_gap(time.monotonic() - failing_since, failing_since - started)

    def _close_gap(self, gap: float, began_s: float) -> None:
        self.result.gaps.append(round(gap, 3))
        self.result.gap_starts.append(round(began_s, 1))
        self.result.longest_gap_s = max(self.result.longest_gap_s, gap)

    def start(self) -> VipProbe:
        self._thread.start()
        return self

    def stop(self) -> ProbeResult:
        self._stop.set()
        self._thread.join(timeout=PROBE_TIMEOUT_S * 4 + 1)
        Path(self._ca.name).unlink(missing_ok=True)
        return self.result


@contextlib.contextmanager
def probing(url: str, ca_cert_pem: str) -> Iterator[VipProbe]:
    probe = VipProbe(url, ca_cert_pem).start()
    try:
        yield probe
    finally:
        probe.stop()
