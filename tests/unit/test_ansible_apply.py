"""The generated inventory reaches exactly one host, with its host key pinned."""

from __future__ import annotations

from provisioners.ansible_apply import AnsibleTarget, content_hash, inventory_for


def test_inventory_has_one_host_and_strict_host_key_checking() -> None:
    target = AnsibleTarget("reg-0", "10.91.0.101", "ssh-ed25519 AAAA", "KEY")
    inventory = inventory_for(target, "/tmp/k", "/tmp/known")
    hosts = inventory["all"]["hosts"]
    assert list(hosts) == ["reg-0"]
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
