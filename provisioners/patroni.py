"""What the stack and the operations ask a PostgreSQL cluster's Patroni (its REST API on every member):
who is the primary and the synchronous standby, whether every member runs, streams and keeps up, and a
switchover before the primary's member goes down. Patroni decides; these only ask and wait for what it
reports.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import requests

from cluster.polling import WaitTimeout, wait_until

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_S = 5.0
SWITCHOVER_TIMEOUT_S = 120.0
CAUGHT_UP_BYTES = 16 * 1024 * 1024  # a replica this close to the primary's WAL counts as keeping up
# a PostgreSQL that runs, as Patroni names it: older versions say "running" for every role; newer ones say how
# a replica replicates instead ("streaming", or "in archive recovery" while it replays from the archive)
RUNNING_STATES = frozenset({"running", "streaming", "in archive recovery"})


class PatroniError(RuntimeError):
    """Patroni refused or could not be asked; the message says which member answered what."""


@dataclass(frozen=True)
class ClusterMember:
    name: str
    role: str  # leader | sync_standby | replica
    state: str  # running | streaming | starting | stopped ...
    host: str
    lag: int | None  # bytes behind the primary, None when Patroni does not know

    @property
    def running(self) -> bool:
        return self.state in RUNNING_STATES


@dataclass(frozen=True)
class ClusterView:
    members: tuple[ClusterMember, ...]

    @property
    def leader(self) -> ClusterMember | None:
        return next((m for m in self.members if m.role == "leader"), None)

    @property
    def sync_standbys(self) -> list[ClusterMember]:
        return [m for m in self.members if m.role == "sync_standby" and m.running]

    def problem(self, expected: int, streaming: set[str]) -> str | None:
        """Why the cluster is not whole and replicating, or None: a running leader, every other member
        running, streaming from it (`streaming`: the names in the primary's pg_stat_replication) and close
        behind it. A replica's lag alone is not enough: one that stopped streaming keeps its last lag."""
        if self.leader is None or not self.leader.running:
            return "no running primary"
        if len(self.members) < expected:
            return f"{len(self.members)} of {expected} members in the cluster"
        for member in self.members:
            if not member.running:
                return f"{member.name} is {member.state}"
            if member is not self.leader and member.name not in streaming:
                return f"{member.name} is not streaming from the primary"
            if member is not self.leader and (member.lag is None or member.lag > CAUGHT_UP_BYTES):
                return f"{member.name} is {member.lag if member.lag is not None else 'an unknown number of'} " \
                       "bytes behind the primary"
        return None


def _member(raw: dict[str, Any]) -> ClusterMember:
    lag = raw.get("lag")
    return ClusterMember(str(raw.get("name")), str(raw.get("role")), str(raw.get("state")), str(raw.get("host", "")),
                         lag if isinstance(lag, int) else None)


class Patroni:
    """The REST API of a cluster, asked of whichever member answers (any one knows the whole cluster)."""

    def __init__(self, addresses: Sequence[str], port: int, password: str) -> None:
        self.addresses, self.port, self._password = list(addresses), port, password
        self._session = requests.Session()
        self._session.trust_env = False

    def _urls(self, path: str) -> list[str]:
        return [f"http://{address}:{self.port}{path}" for address in self.addresses]

    def cluster(self) -> ClusterView:
        errors = []
        for url in self._urls("/cluster"):
            try:
                response = self._session.get(url, timeout=REQUEST_TIMEOUT_S)
                if response.status_code == 200:
                    return ClusterView(tuple(_member(m) for m in response.json().get("members") or ()))
                errors.append(f"{url}: HTTP {response.status_code}")
            except requests.RequestException as error:
                errors.append(f"{url}: {type(error).__name__}")
        raise PatroniError(f"no member's Patroni answered: {'; '.join(errors)}")

    def streaming(self, leader: ClusterMember) -> set[str]:
        """The members the primary streams WAL to now: its pg_stat_replication, as its own Patroni reports it."""
        url = f"http://{leader.host}:{self.port}/patroni"
        try:
            response = self._session.get(url, timeout=REQUEST_TIMEOUT_S)
        except requests.RequestException as error:
            raise PatroniError(f"{url}: {type(error).__name__}") from None
        if response.status_code != 200:
            raise PatroniError(f"{url}: HTTP {response.status_code}")
        return {str(entry.get("application_name")) for entry in response.json().get("replication") or ()
                if entry.get("state") == "streaming"}

    def switchover(self, leader: str, candidate: str | None = None) -> str:
        """Asks Patroni to hand the primary role from `leader` to `candidate` (None: a synchronous standby of
        its choice) and returns Patroni's answer; raises PatroniError when it refuses."""
        body = {"leader": leader, **({"candidate": candidate} if candidate else {})}
        errors = []
        for url in self._urls("/switchover"):
            try:
                response = self._session.post(url, json=body, auth=("patroni", self._password),
                                              timeout=SWITCHOVER_TIMEOUT_S)
            except requests.RequestException as error:
                errors.append(f"{url}: {type(error).__name__}")
                continue
            if response.status_code == 200:
                return response.text.strip()
            raise PatroniError(f"Patroni refused the switchover from {leader}: HTTP {response.status_code} "
                               f"{response.text.strip()[:300]}")
        raise PatroniError(f"no member's Patroni answered the switchover: {'; '.join(errors)}")


def move_primary_away(patroni: Patroni, leaving: set[str], timeout_s: float = SWITCHOVER_TIMEOUT_S) -> str | None:
    """When the primary is one of `leaving` (the members about to go down), switches over to a healthy
    synchronous standby elsewhere and waits until it runs as the primary; returns what was done, or None
    when nothing had to be. Refuses (PatroniError) rather than take the primary down without a standby."""
    view = patroni.cluster()
    leader = view.leader
    if leader is None or leader.name not in leaving:
        return None
    candidates = [m for m in view.sync_standbys if m.name not in leaving]
    if not candidates:
        raise PatroniError(f"the primary {leader.name} is on a member going down and no synchronous standby "
                           "elsewhere runs: taking it down would stop writes (or lose the newest commits)")
    candidate = candidates[0].name
    log.info(f"switchover: {leader.name} -> {candidate} (the primary's member goes down next)")
    answer = patroni.switchover(leader.name, candidate)
    try:
        wait_until(lambda: (new := patroni.cluster().leader) is not None and new.name == candidate
                   and new.running, timeout_s=timeout_s, poll_s=0.5,
                   what=f"{candidate} running as the primary", not_yet=(PatroniError,))
    except WaitTimeout as error:
        raise PatroniError(str(error)) from None
    return f"switched over from {leader.name} to {candidate}: {answer}"
