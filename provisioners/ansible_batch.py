"""Applies of the same playbook to different hosts, arriving together, run as one ansible-playbook.

Each container's AnsibleApply is still its own resource with its own outcome; only the process is
shared. Why: an ansible-playbook run costs ~2 CPU-s before its first task (measured on the lab: 25 of
119 CPU-s of a 12-container `up` went to twelve one-task runs), while one more host in a run costs a
fraction of that. Applies join a batch only when everything but the host is the same (project,
playbook, extra vars, key, user, timeout); the first one waits up to GATHER_S for company, never
longer than MAX_GATHER_S in all, then runs the batch; later arrivals start the next one.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from provisioners.ansible_apply import AnsibleError, AnsibleJob, AnsibleTarget, raise_for_host

GATHER_S = 1.0  # a batch waits this long after its last arrival for another one
MAX_GATHER_S = 3.0  # and never longer than this after its first

Runner = Callable[[list[AnsibleTarget], AnsibleJob], dict[str, "str | None"]]


def batch_key(target: AnsibleTarget, job: AnsibleJob) -> str:
    """Same key: the same run would be made for either host (secrets only hashed, never kept here)."""
    shared = {"job": asdict(job), "key": target.private_key_pem, "user": target.user}
    return hashlib.sha256(json.dumps(shared, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class _Batch:
    job: AnsibleJob
    opened: float
    last_join: float
    targets: list[AnsibleTarget] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)
    outcomes: dict[str, str | None] = field(default_factory=dict)
    failure: BaseException | None = None


class PlaybookBatches:
    def __init__(self, run: Runner, gather_s: float = GATHER_S, max_gather_s: float = MAX_GATHER_S) -> None:
        self._run, self._gather_s, self._max_gather_s = run, gather_s, max_gather_s
        self._lock = threading.Lock()
        self._open: dict[str, _Batch] = {}

    def apply(self, target: AnsibleTarget, job: AnsibleJob) -> None:
        """Applies `job` to `target`, in a batch with whatever joins in time; raises AnsibleError with
        this host's own failure (another host's failure in the same run is not this one's)."""
        key = batch_key(target, job)
        with self._lock:
            now = time.monotonic()
            batch = self._open.get(key)
            leads = batch is None or any(joined.name == target.name for joined in batch.targets)
            if leads:  # (the same host twice in one run would be applied once: it waits for a batch of its own)
                batch = _Batch(job, opened=now, last_join=now)
                if key not in self._open:
                    self._open[key] = batch
            batch.targets.append(target)
            batch.last_join = now
        if leads:
            self._gather_then_run(key, batch)
        batch.done.wait()
        if batch.failure is not None:
            raise AnsibleError(f"ansible {job.playbook} on {target.name}: {batch.failure}") from batch.failure
        raise_for_host(batch.outcomes, target.name)

    def _gather_then_run(self, key: str, batch: _Batch) -> None:
        while True:
            with self._lock:
                wake = min(batch.last_join + self._gather_s, batch.opened + self._max_gather_s)
                if time.monotonic() >= wake:
                    if self._open.get(key) is batch:
                        del self._open[key]  # closed: later arrivals open the next batch
                    break
            time.sleep(max(0.0, wake - time.monotonic()))
        try:
            batch.outcomes = self._run(batch.targets, batch.job)
        except Exception as error:  # every host of the batch gets it
            batch.failure = error
        finally:
            batch.done.set()
