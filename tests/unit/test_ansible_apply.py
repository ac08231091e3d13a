"""The generated inventory reaches exactly the run's hosts, host keys pinned; each host's own outcome."""

from __future__ import annotations

from pathlib import Path

from provisioners.ansible_apply import (
    STRATEGY_ENV,
    AnsibleTarget,
    content_hash,
    host_outcomes,
    inventory_for,
    strategy_settings,
)


def test_inventory_has_exactly_the_runs_hosts_and_strict_host_key_checking() -> None:
    targets = [AnsibleTarget(name, address, "ssh-ed25519 AAAA", "KEY")
               for name, address in (("reg-0", "10.91.0.101"), ("reg-1", "10.91.0.102"))]
    inventory = inventory_for(targets, "/tmp/k", "/tmp/known")
    hosts = inventory["all"]["hosts"]
    assert list(hosts) == ["reg-0", "reg-1"] and hosts["reg-1"]["ansible_host"] == "10.91.0.102"
    args = hosts["reg-0"]["ansible_ssh_common_args"]
    assert "StrictHostKeyChecking=yes" in args and "UserKnownHostsFile=/tmp/known" in args
    assert hosts["reg-0"]["ansible_python_interpreter"] == "/usr/bin/python3"


def test_content_hash_follows_role_edits(tmp_path) -> None:
    (tmp_path / "roles" / "r" / "tasks").mkdir(parents=True)
    tasks = tmp_path / "roles" / "r" / "tasks" / "main.yml"
    tasks.write_text("- debug: msg=a\n")
    first = content_hash(tmp_path)
    tasks.write_text("- debug: msg=b\n")
    assert content_hash(tmp_path) != first


def _event(kind: str, host: str, task: str = "", msg: str = "", **data: object) -> dict:
    return {"event": kind, "event_data": {"host": host, "task": task, "res": {"msg": msg}, **data}}


def _stats(failures: dict[str, int] | None = None, dark: dict[str, int] | None = None) -> dict:
    return {"event": "playbook_on_stats", "event_data": {"failures": failures or {}, "dark": dark or {}}}


def test_each_host_of_a_run_gets_its_own_outcome() -> None:
    events = [
        _event("runner_on_failed", "a", "Download", "checksum mismatch"),  # rescued: not a failure of a
        _event("runner_on_failed", "b", "Probe", "ignored", ignore_errors=True),
        _event("runner_on_failed", "b", "Install", "no space left"),
        _event("runner_on_unreachable", "c", "Gathering", "ssh: connect timed out"),
        _stats(failures={"a": 0, "b": 1}, dark={"c": 1}),
    ]
    outcomes = host_outcomes(events, ["a", "b", "c", "d"], succeeded=False, summary="run failed")
    assert outcomes == {"a": None, "b": "task 'Install' on b: no space left",
                        "c": "task 'Gathering' on c: ssh: connect timed out", "d": None}


def test_a_run_that_failed_with_no_host_to_blame_fails_every_host() -> None:
    outcomes = host_outcomes([], ["a", "b"], succeeded=False, summary="ansible x.yml failed (rc 4): syntax")
    assert outcomes == {"a": "ansible x.yml failed (rc 4): syntax", "b": "ansible x.yml failed (rc 4): syntax"}
    assert host_outcomes([_stats()], ["a"], succeeded=True, summary="") == {"a": None}


def test_the_strategy_is_mitogen_by_default_and_ansibles_own_on_request() -> None:
    mitogen = strategy_settings({})
    assert mitogen["ANSIBLE_STRATEGY"] == "mitogen_linear"
    assert Path(mitogen["ANSIBLE_STRATEGY_PLUGINS"], "mitogen_linear.py").is_file()
    assert strategy_settings({STRATEGY_ENV: "linear"}) == {"ANSIBLE_STRATEGY": "linear"}
