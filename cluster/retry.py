"""Which cluster errors are worth retrying, and bounded retries for them.

An LXD cluster hiccups: dqlite is briefly locked or has no leader, a member restarts, the load
balancer drops a connection, a response is lost after the server acted. Those are transient. An
error is classified by its exception type, then the HTTP status LXD answered, then LXD's own
message matched as whole phrases (never short fragments that occur inside unrelated words).
Anything else is a real error and surfaces at once.

Retrying is only safe when the retried unit first re-reads the cluster (see cluster/steps.py):
`with_retries` bounds count and time; the steps make every attempt start from what LXD shows.
"""

from __future__ import annotations

import logging
import random
import re
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import requests
import urllib3.exceptions

from cluster.errors import TransientError
from cluster.server_family import FAMILIES

log = logging.getLogger(__name__)

T = TypeVar("T")

# HTTP statuses a proxy or a member answers while the cluster (or one member) is briefly unavailable.
TRANSIENT_STATUSES = frozenset({502, 503, 504})

# LXD's own messages for states that heal by waiting, as whole phrases (case-insensitive); Incus keeps them
# (checked in its 6.0 source), and each family's own words ("… is shutting down", its database's "no
# available … leader") come from cluster/server_family.py.
TRANSIENT_PHRASES = (
    *(phrase for family in FAMILIES for phrase in family.transient_phrases),
    "database is locked",
    "database is busy",
    "not leader",
    "leadership lost",
    "failed to begin transaction",
    "is offline",
    "connection refused",
    "connection reset by peer",
    "broken pipe",
    "unexpected eof",
    "i/o timeout",
    "service unavailable",
    "context deadline exceeded",
    "checkpoint in progress",
    "missing event connection with target cluster member",
    "no route to host",
    "is busy running a",
    # the migration connection between two members broke (one restarted or was cut off the network)
    "websocket: bad handshake",
    "websocket: close 1006 (abnormal closure)",
    "got error reading migration source",  # the source member's daemon went away during the transfer
    # the TLS stream between two members broke mid-transfer (the target was cut off the network): LXD's
    # own message inside an operation's error; our client's TLS failures are exceptions, classified first
    "tls: bad record mac",
    "use of closed network connection",
)
# LXD's answers when the cluster is up but the one member a request is routed to does not answer (its
# daemon died or restarts; the member list may show it ONLINE for up to 20 s): a member comes back in
# tens of seconds, longer than the bounded retries of a hiccup last.
MEMBER_DOWN_PHRASES = ("missing event connection with target cluster member", "unable to connect to",
                       "is offline", "server isn't ready yet")
_MEMBER_DOWN = re.compile("|".join(re.escape(p) for p in MEMBER_DOWN_PHRASES), re.IGNORECASE)
MEMBER_DOWN_POLL_S = 2.0

_PHRASES = re.compile("|".join(rf"(?<![\w-]){re.escape(p)}(?![\w-])" for p in TRANSIENT_PHRASES), re.IGNORECASE)
# A bare "EOF" is how Go reports a connection a restarting member dropped: only as the message's last word.
_TRAILING_EOF = re.compile(r"(^|[:\s])EOF\s*$")


@dataclass(frozen=True)
class Verdict:
    transient: bool
    reason: str
    member_down: bool = False  # the cluster answered, but the member the request is routed to did not


def _status_of(error: BaseException) -> int | None:
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def _chain(error: BaseException) -> list[BaseException]:
    """The error and what caused it (pylxd and urllib3 wrap a TLS failure in connection errors)."""
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def classify(error: BaseException) -> Verdict:
    """Transient (worth a bounded retry after re-reading the cluster) or real, with the reason."""
    if any(isinstance(e, (requests.exceptions.SSLError, ssl.SSLError)) for e in _chain(error)) \
            or "Fingerprints did not match" in str(error):
        return Verdict(False, "TLS: the certificate or pin does not match; waiting does not heal that")
    if isinstance(error, TransientError):
        return Verdict(True, type(error).__name__)
    if isinstance(error, (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
                          urllib3.exceptions.ProtocolError, ConnectionError, TimeoutError)):
        return Verdict(True, f"connection: {type(error).__name__}")
    status = _status_of(error)
    if status in TRANSIENT_STATUSES:
        return Verdict(True, f"HTTP {status}")
    message = str(error)
    match = _PHRASES.search(message)
    if match:
        return Verdict(True, f"LXD: {match.group(0).lower()}", member_down=bool(_MEMBER_DOWN.search(message)))
    if _TRAILING_EOF.search(message):
        return Verdict(True, "connection dropped (EOF)")
    return Verdict(False, f"HTTP {status}" if status else type(error).__name__)


def is_transient(error: BaseException) -> bool:
    """True when retrying the same step later (after re-reading the cluster) may succeed."""
    return classify(error).transient


def backoff_delays(attempts: int, base_s: float = 1.0, cap_s: float = 8.0) -> list[float]:
    """Exponential delays with full jitter, one per retry (attempts - 1 of them)."""
    return [random.uniform(base_s / 4, min(cap_s, base_s * 2**i)) for i in range(max(attempts - 1, 0))]


def with_retries(
    call: Callable[[], T],
    what: str,
    attempts: int = 8,  # delays up to 1+2+4+8x4 s: rides out a member restart or a leader election
    deadline_s: float = 180.0,
    sleep: Callable[[float], None] | None = None,
    member_wait_s: float = 0.0,
) -> T:
    """Runs `call`, retrying transient errors with bounded backoff (count and time).

    `call` must start by reading what it needs from the cluster, so that a retry continues from
    what the cluster shows rather than repeating a step that may already have happened. With
    `member_wait_s`, errors saying one member does not answer are retried every few seconds for up to
    that long (slept time, still within `deadline_s`) without using up `attempts`.
    """
    started = time.monotonic()
    delays = backoff_delays(attempts)
    attempt = 0
    waited_for_member = 0.0
    while True:
        try:
            return call()
        except Exception as error:  # noqa: BLE001 - classified below, re-raised when real
            verdict = classify(error)
            waiting_for_member = verdict.member_down and waited_for_member < member_wait_s
            delay = MEMBER_DOWN_POLL_S if waiting_for_member else (delays[attempt] if attempt < len(delays) else 0)
            out_of_time = time.monotonic() - started + delay > deadline_s
            if not verdict.transient or out_of_time or (attempt >= attempts - 1 and not waiting_for_member):
                raise
            if waiting_for_member:
                waited_for_member += delay
            else:
                attempt += 1
            log.info("%s: transient (%s); re-reading the cluster and retrying in %.1fs: %s", what, verdict.reason,
                     delay, _short(error))
            (sleep or time.sleep)(delay)


def _short(error: BaseException, limit: int = 240) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
