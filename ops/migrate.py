"""`python -m ops.migrate --stack lab`: moves a stack made before the native provider onto `lxd.*`
resources without replacing (or even restarting) a running container.

Until then, instances, image aliases and profiles were Python dynamic resources. Their state entries
are handed over: removed from the stack's state (nothing in the cluster is touched; a backup of the
state is kept under .state/backups/), then `pulumi up` declares the same objects as lxd.Instance /
lxd.CachedImage, whose create adopts what exists and belongs to this stack (the ownership marks on
the instances and alias), and places every container where it already runs. Every step of that up
that changed something is listed (`--json`: one machine-readable document). Exit 0 when the up
succeeded, replaced nothing and deleted no container.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
from collections.abc import Iterable
from typing import Any

from ops import entry
from toolchain.pulumi_cli import ROOT, STATE_DIR, PulumiCli, PulumiError, change_counts

DYNAMIC = "pulumi-python:dynamic:Resource"
# the dynamic providers whose objects the native provider now manages (module names inside the pickle)
HANDED_OVER = (b"instance_provider", b"image_provider", b"profile_provider")
INSTANCE = "lxd:index/instance:Instance"
QUIET_OPS = ("same", "refresh", "read")  # steps that change nothing in the cluster or the state's inputs
REPLACE_OPS = ("replace", "create-replacement", "delete-replaced", "discard-replaced", "import-replacement")
SECRET_SIG = "4dabf18193072939515e22adb298388d"  # marks a secret value in Pulumi's state format


def _revealed(value: Any) -> Any:
    """A state value; a secret exported with --show-secrets holds its JSON-encoded value as `plaintext`."""
    if isinstance(value, dict) and SECRET_SIG in value:
        try:
            return json.loads(value.get("plaintext", "null"))
        except ValueError:
            return None
    return value


def provider_module(resource: dict[str, Any]) -> bytes:
    """The pickled dynamic provider of a state entry (its module name is readable in the bytes).

    The SDK keeps `__provider` as a secret, so only an export with --show-secrets has the bytes."""
    for section in ("outputs", "inputs"):
        blob = _revealed((resource.get(section) or {}).get("__provider"))
        if isinstance(blob, str):
            try:
                return base64.b64decode(blob)
            except ValueError:
                return b""
    return b""


def legacy_urns(resources: Iterable[dict[str, Any]]) -> list[str]:
    return [r["urn"] for r in resources if r.get("type") == DYNAMIC
            and any(name in provider_module(r) for name in HANDED_OVER)]


def hand_over(deployment: dict[str, Any], legacy: Iterable[str]) -> list[str]:
    """Drops the `legacy` entries and every reference to them; returns the URNs dropped."""
    resources = deployment.get("resources") or []
    dropped = {r["urn"] for r in resources} & set(legacy)
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


def changed_steps(events: Iterable[dict[str, Any]]) -> list[dict[str, str]]:
    """Every finished (or failed) step of an up that changed something: {op, type, name}."""
    steps = []
    for event in events:
        finished = event.get("resOutputsEvent") or event.get("resOpFailedEvent") or {}
        metadata = finished.get("metadata") or {}
        if metadata.get("op") and metadata["op"] not in QUIET_OPS:
            steps.append({"op": metadata["op"], "type": metadata.get("type", ""),
                          "name": metadata.get("urn", "").split("::")[-1]})
    return steps


def harmful(steps: Iterable[dict[str, str]]) -> list[dict[str, str]]:
    """Steps a migration must never take: a replacement of anything, a deletion of a container."""
    return [s for s in steps if s["op"] in REPLACE_OPS or (s["op"] == "delete" and s["type"] == INSTANCE)]


def migrating_up(cli: PulumiCli) -> dict[str, Any]:
    """`pulumi up` after the hand-over: its summary, the steps that changed something, and how long it took."""
    started = time.monotonic()
    events = cli.up_events()
    summaries = [event["summaryEvent"] for event in events if "summaryEvent" in event]
    summary = summaries[-1] if summaries else {"result": "no summary event"}
    return {"result": summary.get("result"), "changes": change_counts(summary), "steps": changed_steps(events),
            "seconds": round(time.monotonic() - started, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.migrate", description=__doc__)
    parser.add_argument("--stack", default="lab")
    parser.add_argument("--dry-run", action="store_true", help="say what would be handed over, change nothing")
    parser.add_argument("--skip-up", action="store_true", help="only hand the state over; run `pulumi up` yourself")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of lines")
    args = parser.parse_args(argv)
    cli = PulumiCli(ROOT, args.stack)
    report: dict[str, Any] = {"stack": args.stack}
    say = (lambda _line: None) if args.json else print
    try:
        # what is re-imported keeps its secrets encrypted; the revealed copy only says which provider made each
        # entry and never leaves this process
        exported = json.loads(cli.run("stack", "export").stdout)
        revealed = json.loads(cli.run("stack", "export", "--show-secrets").stdout)["deployment"]
        dropped = hand_over(exported["deployment"], legacy_urns(revealed.get("resources") or []))
        report["handed_over"] = [urn.split("::")[-1] for urn in dropped]
        if not dropped:
            say(f"stack {args.stack}: nothing to migrate (no dynamic instance, image or profile resources)")
            return _done(report, args.json, 0)
        for name in report["handed_over"]:
            say(f"hand over: {name}")
        if args.dry_run:
            say("dry run: nothing was changed")
            return _done(report, args.json, 0)
        backups = STATE_DIR / "backups"
        backups.mkdir(parents=True, exist_ok=True)
        backup = backups / f"{args.stack}-{time.strftime('%Y%m%dT%H%M%S')}.json"
        backup.write_text(cli.run("stack", "export").stdout)
        migrated = backups / f"{args.stack}-migrated.json"
        migrated.write_text(json.dumps(exported))
        cli.run("stack", "import", "--file", str(migrated))
        migrated.unlink()
        report["backup"] = str(backup)
        say(f"state handed over ({len(dropped)} entries; backup {backup})")
        if args.skip_up:
            return _done(report, args.json, 0)
        up = report["up"] = migrating_up(cli)
        for step in up["steps"]:
            say(f"  {step['op']:<8} {step['type']:<40} {step['name']}")
        say(f"pulumi up: {up['result']}, changes {up['changes']} in {up['seconds']}s")
        bad = up["harmful"] = harmful(up["steps"])
        for step in bad:
            print(f"migrate: {step['op']} of {step['name']} ({step['type']}) must not happen", file=sys.stderr)
        return _done(report, args.json, 0 if up["result"] == "succeeded" and not bad else 1)
    except PulumiError as error:
        tail = "\n".join((error.result.stdout + error.result.stderr).strip().splitlines()[-15:])
        print(f"migrate: a pulumi command failed:\n{tail}", file=sys.stderr)
        return _done({**report, "error": tail}, args.json, 2)


def _done(report: dict[str, Any], as_json: bool, code: int) -> int:
    if as_json:
        print(json.dumps({**report, "exit": code}))
    return code


if __name__ == "__main__":
    entry.run(main, "migrate")
