"""A throw-away stack of this project on the lab (tests, benchmarks): the lab stack's config plus
overrides.

The stack file is generated (git-ignored `Pulumi.it-*.yaml`, `Pulumi.bench-*.yaml`) so nothing edits
Pulumi.lab.yaml, and the stack is destroyed and removed at the end even when its user fails half-way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from harness.lab_secrets import ensure_all
from lab.info import LabInfo
from toolchain.pulumi_cli import ROOT, STATE_DIR, PulumiCli

STATE_PREFIX = ".state/"


def stack_config(stack: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """Pulumi.lab.yaml's config with `overrides` (full keys such as `lxdha:containers`) applied.

    The image alias is the stack's own: an alias belongs to one stack (a second one is refused).
    Baking is off unless the overrides turn it on (`lxdha:image` with `bake: true`).
    """
    lab = yaml.safe_load((ROOT / "Pulumi.lab.yaml").read_text())
    config = dict(lab["config"])
    # no bake unless a stack asks for it: each throw-away stack would bake (and destroy) its own image
    config["lxdha:image"] = {**config["lxdha:image"], "alias": f"debian/{stack}", "bake": False}
    config.pop("lxdha:registry", None)  # only stacks that ask for a registry (or a database) get one
    config.update(overrides)
    return under_state_dir(config)


def under_state_dir(value: Any) -> Any:
    """`.state/...` paths (Pulumi.lab.yaml's keys, the registry files) made absolute under STATE_DIR, which
    LXDHA_STATE_DIR moves: the stack then names the files harness.lab_secrets wrote, from any directory."""
    if isinstance(value, dict):
        return {key: under_state_dir(item) for key, item in value.items()}
    if isinstance(value, list):
        return [under_state_dir(item) for item in value]
    if isinstance(value, str) and value.startswith(STATE_PREFIX):
        return str(STATE_DIR / value.removeprefix(STATE_PREFIX))
    return value


@contextlib.contextmanager
def lab_stack(name: str, overrides: dict[str, Any], prefix: str = "it") -> Iterator[PulumiCli]:
    """Yields a PulumiCli for stack `<prefix>-<name>`; destroys and removes it afterwards."""
    stack = f"{prefix}-{name}"
    ensure_all()
    with throwaway_stack(ROOT, stack, stack_config(stack, overrides)) as cli:
        yield cli


@contextlib.contextmanager
def throwaway_stack(workdir: Path, stack: str, config: dict[str, Any]) -> Iterator[PulumiCli]:
    """Stack `stack` of the project in `workdir` with `config` as its (generated) stack file; destroyed,
    removed and its file deleted afterwards, even when its user fails half-way."""
    stack_file = workdir / f"Pulumi.{stack}.yaml"
    stack_file.write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    cli = PulumiCli(workdir, stack)
    cli.ensure_stack()
    try:
        yield cli
    finally:
        try:
            cli.destroy()
            cli.run("stack", "rm", "--yes", check=False)
        finally:
            stack_file.unlink(missing_ok=True)


def config_value(cli: PulumiCli, key: str) -> Any:
    """One structured config value as the stack file holds it."""
    return yaml.safe_load((cli.workdir / f"Pulumi.{cli.stack}.yaml").read_text())["config"][key]


def set_config(cli: PulumiCli, key: str, value: Any) -> None:
    """Changes one structured config value of the stack (as an operator would with --path)."""
    stack_file = cli.workdir / f"Pulumi.{cli.stack}.yaml"
    document = yaml.safe_load(stack_file.read_text())
    document["config"][key] = value
    stack_file.write_text(yaml.safe_dump(document, sort_keys=False))


def registry_overrides(lab_data: dict[str, Any], *, prefix: str, vip: str, vrid: int, root_directory: str,
                       ansible_dir: str | None = None) -> dict[str, Any]:
    """`lxdha:registry` for a throw-away stack on the lab (its own VIP, VRID, names and S3 prefix)."""
    s3 = lab_data["s3"]
    registry: dict[str, Any] = {
        "replicas": 2, "prefix": prefix, "vip": vip, "vrid": vrid, "advertIntervalS": 0.3,
        "network": {"subnet": lab_data["network"]["subnet"], "dhcpRange": lab_data["network"]["dhcp_range"]},
        "s3": {"endpoint": s3["endpoint"], "region": s3["region"], "bucket": s3["buckets"]["registry"],
               "rootDirectory": root_directory, "accessKeyFile": s3["access_key_file"],
               "secretKeyFile": s3["secret_key_file"]},
        "usersFile": ".state/registry/users",
        "tls": {"certFile": ".state/registry/tls.crt", "keyFile": ".state/registry/tls.key"},
    }
    if ansible_dir:
        registry["ansibleDir"] = ansible_dir
    return {"lxdha:registry": registry}


def postgres_overrides(lab_data: dict[str, Any], *, name: str, vip: str, vrid: int, backup_path: str,
                       restore: dict[str, str] | None = None) -> dict[str, Any]:
    """`lxdha:postgres` for a throw-away stack on the lab: its own names, VIP, VRID and backup path; the
    backups reach the lab's S3 through its TLS front."""
    s3 = lab_data["s3"]
    postgres: dict[str, Any] = {
        "name": name, "members": 3, "prefix": name.replace("_", "-"),
        "network": {"subnet": lab_data["network"]["subnet"], "dhcpRange": lab_data["network"]["dhcp_range"]},
        "haproxy": {"vip": vip, "vrid": vrid, "replicas": 2, "advertIntervalS": 0.3},
        "backup": {"s3": {"endpoint": s3["tls_endpoint"], "region": s3["region"], "bucket": s3["buckets"]["backup"],
                          "path": backup_path, "caFile": s3["tls_ca_cert"], "accessKeyFile": s3["access_key_file"],
                          "secretKeyFile": s3["secret_key_file"]}},
        "tls": {"certFile": ".state/postgres/tls.crt", "keyFile": ".state/postgres/tls.key"},
        **{f"{field}PasswordFile": f".state/postgres/{file}-password"
           for field, file in (("superuser", "superuser"), ("replication", "replication"), ("rewind", "rewind"),
                               ("restApi", "rest-api"), ("app", "app"))},
    }
    if restore:
        postgres["restore"] = restore
    return {"lxdha:postgres": postgres}


def empty_backup_path(lab: LabInfo, path: str) -> int:
    """Deletes a throw-away cluster's backups in the lab's bucket (a new cluster refuses a repository that
    holds another cluster's); returns how many objects went."""
    s3, bucket = lab.s3_client(), lab.data["s3"]["buckets"]["backup"]
    deleted = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=path.strip("/") + "/"):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
            deleted += len(keys)
    return deleted
