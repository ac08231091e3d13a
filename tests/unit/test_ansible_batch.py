"""Applies of one playbook arriving together share one run; each host keeps its own outcome."""

from __future__ import annotations

import pytest

from provisioners.ansible_apply import AnsibleError, AnsibleJob, AnsibleTarget
from provisioners.ansible_batch import PlaybookBatches, batch_key
from tests.support.threads import together

JOB = AnsibleJob("/project", "base.yml")


def _target(name: str, key: str = "KEY") -> AnsibleTarget:
    return AnsibleTarget(name, f"10.91.0.{100 + int(name[-1])}", "ssh-ed25519 AAAA", key)


class Recorder:
    """A runner that records each run's hosts and fails the hosts it is told to."""

    def __init__(self, failing: dict[str, str] | None = None, raises: Exception | None = None) -> None:
        self.runs: list[list[str]] = []
        self.failing, self.raises = failing or {}, raises

    def __call__(self, targets: list[AnsibleTarget], _job: AnsibleJob) -> dict[str, str | None]:
        self.runs.append(sorted(target.name for target in targets))
        if self.raises:
            raise self.raises
        return {target.name: self.failing.get(target.name) for target in targets}


def _apply_together(batches: PlaybookBatches, applies: list[tuple[AnsibleTarget, AnsibleJob]]) -> list[str]:
    """Every apply on its own thread at once; the messages of those that raised, sorted."""
    jobs = [lambda target=target, job=job: batches.apply(target, job) for target, job in applies]
    return sorted(str(error) for error in together(*jobs))


def test_applies_that_arrive_together_run_once_and_only_the_failed_host_fails() -> None:
    runner = Recorder(failing={"web-2": "task 'motd' on web-2: disk full"})
    batches = PlaybookBatches(runner, gather_s=0.3, max_gather_s=2.0)
    errors = _apply_together(batches, [(_target(f"web-{i}"), JOB) for i in range(4)])
    assert runner.runs == [["web-0", "web-1", "web-2", "web-3"]]
    assert errors == ["task 'motd' on web-2: disk full"]


def test_a_different_job_or_key_never_shares_a_run() -> None:
    runner = Recorder()
    batches = PlaybookBatches(runner, gather_s=0.3, max_gather_s=2.0)
    other_vars = AnsibleJob("/project", "base.yml", {"motd": "x"})
    _apply_together(batches, [(_target("web-0"), JOB), (_target("web-1"), other_vars),
                              (_target("web-2", key="OTHER"), JOB), (_target("web-3"), JOB)])
    assert sorted(runner.runs) == [["web-0", "web-3"], ["web-1"], ["web-2"]]
    assert batch_key(_target("web-0"), JOB) == batch_key(_target("web-3"), JOB)
    assert "KEY" not in batch_key(_target("web-0"), JOB)  # a hash, never the key itself


def test_the_same_host_twice_gets_a_run_of_its_own_and_a_failed_run_fails_every_host() -> None:
    runner = Recorder()
    batches = PlaybookBatches(runner, gather_s=0.3, max_gather_s=2.0)
    _apply_together(batches, [(_target("web-0"), JOB), (_target("web-0"), JOB)])
    assert runner.runs == [["web-0"], ["web-0"]]
    failing = PlaybookBatches(Recorder(raises=RuntimeError("runner crashed")), gather_s=0.3, max_gather_s=2.0)
    errors = _apply_together(failing, [(_target("web-0"), JOB), (_target("web-1"), JOB)])
    assert errors == [f"ansible base.yml on {name}: runner crashed" for name in ("web-0", "web-1")]


def test_a_lone_apply_waits_at_most_the_gather_time() -> None:
    runner = Recorder(failing={"web-0": "unreachable"})
    with pytest.raises(AnsibleError, match="unreachable"):
        PlaybookBatches(runner, gather_s=0.05, max_gather_s=0.1).apply(_target("web-0"), JOB)
    assert runner.runs == [["web-0"]]
