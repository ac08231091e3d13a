"""`python -m ops.migrate --stack lab`: moves a stack made before the native provider onto `lxd.*`
resources without replacing (or even restarting) a running container.

Until then, instances, image aliases and profiles were Python dynamic resources. Their state entries
are handed over: removed from the stack's state (nothing in the cluster is touched; a backup of the
state is kept under .state/backups/), then `pulumi up` declares the same objects as lxd.Instance /
lxd.CachedImage, whose create adopts what exists and belongs to this stack (the ownership marks on
the instances and alias), and places every container where it already runs. Exit 0 when the up
succeeded and replaced nothing.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
from collections.abc import Iterable
from typing import Any

from ops.lab_stacks import change_counts
from ops.pulumi_cli import ROOT, STATE_DIR, PulumiCli, PulumiError

DYNAMIC = "pulumi-python:dynamic:Resource"
# the dynamic providers whose objects the native provider now manages (module names inside the pickle)
HANDED_OVER = (b"instance_provider", b"image_provider", b"profile_provider")


def provider_module(resource: dict[str, Any]) -> bytes:
    """The pickled dynamic provider of a state entry (its module name is readable in the bytes)."""
    blob = (resource.get("outputs") or {}).get("__provider") or (resource.get("inputs") or {}).get("__provider")
    if not isinstance(blob, str):
        return b""
    try:
        return base64.b64decode(blob)
    except ValueError:
        return b""


def legacy_urns(resources: Iterable[dict[str, Any]]) -> list[str]:
    return [r["urn"] for r in resources if r.get("type") == DYNAMIC
            and any(name in provider_module(r) for name in HANDED_OVER)]


def hand_over(deployment: dict[str, Any]) -> list[str]:
    """Drops the legacy entries and every reference to them; returns the URNs dropped."""
    resources = deployment.get("resources") or []
    dropped = set(legacy_urns(resources))
    kept = []
    for resource in resources:
        if resource["urn"] in dropped:
            continue
        if resource.get("dependencies"):
            resource["dependencies"] = [u for u in resource["dependencies"] if u not in dropped]
        for prop, urns in list((resource.get("propertyDependencies") or {}).items()):
            resource["propertyDependencies"][prop] = [u for u in urns if u not in dropped]
        kept.append(resource)
    deployment["resources"] = kept
    return sorted(dropped)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.migrate", description=__doc__)
    parser.add_argument("--stack", default="lab")
    parser.add_argument("--dry-run", action="store_true", help="say what would be handed over, change nothing")
    parser.add_argument("--skip-up", action="store_true", help="only hand the state over; run `pulumi up` yourself")
    args = parser.parse_args(argv)
    cli = PulumiCli(ROOT, args.stack)
    try:
        exported = json.loads(cli.run("stack", "export").stdout)
        dropped = hand_over(exported["deployment"])
        if not dropped:
            print(f"stack {args.stack}: nothing to migrate (no dynamic instance, image or profile resources)")
            return 0
        for urn in dropped:
            print(f"hand over: {urn.split('::')[-1]}")
        if args.dry_run:
            print("dry run: nothing was changed")
            return 0
        backups = STATE_DIR / "backups"
        backups.mkdir(parents=True, exist_ok=True)
        backup = backups / f"{args.stack}-{time.strftime('%Y%m%dT%H%M%S')}.json"
        backup.write_text(cli.run("stack", "export").stdout)
        migrated = backups / f"{args.stack}-migrated.json"
        migrated.write_text(json.dumps(exported))
        cli.run("stack", "import", "--file", str(migrated))
        migrated.unlink()
        print(f"state handed over ({len(dropped)} entries; backup {backup})")
        if args.skip_up:
            return 0
        summary = cli.up_summary()
        changes = change_counts(summary)
        print(f"pulumi up: {summary.get('result')}, changes {changes}")
        return 0 if summary.get("result") == "succeeded" and not changes.get("replace") else 1
    except PulumiError as error:
        tail = "\n".join((error.result.stdout + error.result.stderr).strip().splitlines()[-15:])
        print(f"migrate: a pulumi command failed:\n{tail}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
