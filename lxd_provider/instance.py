"""`lxd:index/instance:Instance`: a container (or VM) on the cluster, on the member `target` names.

Follows upstream pulumi-lxd's Instance (terraform-provider-lxd v2.7): name, image, type, ephemeral
and project replace; a `target` change migrates in place (stop -> move -> start, never a move to
where it already is); config, devices, profiles, limits, description and `running` update in place.
Every instance carries our marks (`user.lxdha.managed`, `user.lxdha.stack`): a create adopts only
this stack's own leftover (a create whose answer was lost, or a run that failed after it), never an
instance another stack or a person made; delete and refresh leave another stack's instance alone.

`read` reports drift: a move (location), a stop (running=false), a deletion (gone), config changes.
The declared `target` is kept as it was declared, so after a rebalance or a maintenance roll moved
the instance, the next `pulumi up` moves nothing back (the actual member is the `location` output).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar

import pylxd

from cluster.errors import StepFailed
from cluster.facts import (
    MANAGED_KEY,
    OWNER_KEY,
    global_ipv4,
    read_instance,
    read_instance_records,
    read_state,
)
from cluster.names import instance_name_problem
from cluster.operations import OperationFailed
from cluster.retry import with_retries
from cluster.steps import (
    ensure_created,
    ensure_deleted,
    ensure_moved,
    ensure_running,
    ensure_stopped,
    foreign_owner,
    wait_for_ipv4,
)
from lxd_provider.base import Context, Failures, Resource, join_id, split_id
from lxd_provider.config_rules import INSTANCE, changed_devices, config_problems, device_problems
from lxd_provider.references import FINGERPRINT, Reference, device_references
from lxd_provider.spec import (
    BOOLEAN,
    STRING,
    STRING_LIST,
    STRING_MAP,
    Prop,
    device_type,
    devices_by_name,
    devices_from_lxd,
    devices_to_lxd,
    list_of,
    ref,
    sorted_map,
)
from lxd_provider.values import UNKNOWN, known_list

log = logging.getLogger(__name__)

DEVICE = device_type("lxd:index/InstanceDevice:InstanceDevice", "instance")
MARKS = (MANAGED_KEY, OWNER_KEY)
HIDDEN_PREFIXES = ("volatile.", "image.")
TYPES = ("container", "virtual-machine")
LISTED_STATES = ("Running", "Stopped", "Frozen")  # a listing's answer taken as is; others are read one by one


def listed_by_name(client: pylxd.Client) -> dict[str, dict[str, Any]]:
    """Every instance with its state, by name; empty when the listing fails: each read then asks for its
    own instance, with the retries and error messages of a single read."""
    try:
        return {record["name"]: record for record in read_instance_records(client)}
    except Exception:  # noqa: BLE001 - a shortcut only; the single reads that follow report the real error
        return {}


def image_source(image: str) -> dict[str, str]:
    if FINGERPRINT.match(image):
        return {"type": "image", "fingerprint": image}
    return {"type": "image", "alias": image}


def lxd_config(inputs: dict[str, Any], owner: str) -> dict[str, str]:
    """The instance's LXD config: declared config, limits as `limits.*`, and our ownership marks."""
    config = {str(k): str(v) for k, v in (inputs.get("config") or {}).items()}
    config.update({f"limits.{k}": str(v) for k, v in (inputs.get("limits") or {}).items()})
    config.update({MANAGED_KEY: "true", OWNER_KEY: owner})
    return config


def declared_config(live: dict[str, str], limit_names: set[str]) -> tuple[dict[str, str], dict[str, str]]:
    """(config, limits) as a user declares them: without LXD's volatile/image keys and our marks."""
    config, limits = {}, {}
    for key, value in live.items():
        if key.startswith(HIDDEN_PREFIXES) or key in MARKS:
            continue
        if key.startswith("limits.") and key.removeprefix("limits.") in limit_names:
            limits[key.removeprefix("limits.")] = value
        else:
            config[key] = value
    return sorted_map(config), sorted_map(limits)


class Instance(Resource):
    token: ClassVar[str] = "lxd:index/instance:Instance"
    description: ClassVar[str] = (
        "An LXD instance (system container or VM) on the cluster member `target` names. A `target` "
        "change migrates it in place; the member it actually runs on is the `location` output.")
    types = (DEVICE,)
    props = (
        Prop("name", STRING, "Instance name (a hostname label).", required=True, replaces=True),
        Prop("image", STRING, "Image alias (e.g. debian/stable) or fingerprint in the cluster's image store.",
             required=True, replaces=True),
        Prop("description", STRING, "Description.", default=""),
        Prop("type", STRING, "container or virtual-machine.", default="container", replaces=True),
        Prop("ephemeral", BOOLEAN, "Deleted by LXD when stopped.", default=False, replaces=True),
        Prop("running", BOOLEAN, "Whether the instance runs (start/stop in place).", default=True),
        Prop("profiles", STRING_LIST, "Profiles applied in order.", default=["default"]),
        Prop("config", STRING_MAP, "Instance config (e.g. user.*, security.*, boot.*).", default={},
             normalize=sorted_map),
        Prop("devices", list_of(ref(DEVICE.token)), "Devices of this instance (besides its profiles').",
             default=[], normalize=devices_by_name),
        Prop("limits", STRING_MAP, "Resource limits, as config `limits.<key>` (e.g. cpu: \"2\").", default={},
             normalize=sorted_map),
        Prop("project", STRING, "LXD project.", default="default", replaces=True),
        Prop("target", STRING, "Cluster member to create it on; a change migrates it (stop, move, start)."),
        Prop("waitForNetwork", BOOLEAN, "Wait for a global IPv4 address before finishing.", default=True),
        Prop("location", STRING, "Cluster member the instance runs on now.", input=False),
        Prop("status", STRING, "LXD status (Running, Stopped, ...).", input=False),
        Prop("ipv4Address", STRING, "First global IPv4 address.", input=False),
        Prop("ipv6Address", STRING, "First global IPv6 address.", input=False),
        Prop("macAddress", STRING, "MAC address of the first NIC.", input=False),
        Prop("uuid", STRING, "LXD's volatile.uuid: changes only when the instance is created anew.", input=False),
    )

    def validate(self, inputs: dict[str, Any]) -> Failures:
        failures: Failures = []
        problem = instance_name_problem(inputs["name"])
        if problem:
            failures.append(("name", problem))
        if inputs.get("type") not in TYPES:
            failures.append(("type", f"type must be one of {', '.join(TYPES)}"))
        image = str(inputs.get("image") or "")
        if ":" in image:
            failures.append(("image", f"{image!r} names a remote: copy the image into the cluster with "
                                      "lxd.CachedImage and use its alias here"))
        for device in inputs.get("devices") or []:
            if not device.get("name") or not device.get("type"):
                failures.append(("devices", "every device needs a name and a type"))
        if inputs.get("project", "default") != "default":
            failures.append(("project", "only the default project is supported by this provider so far"))
        if inputs.get("target") is not None and instance_name_problem(str(inputs["target"])):
            failures.append(("target", f"{inputs['target']!r} is not a cluster member name"))
        return failures

    def references(self, inputs: Mapping[str, Any]) -> list[Reference]:
        return [*super().references(inputs), Reference("image", "image", inputs.get("image")),
                *(Reference("profiles", "profile", profile) for profile in known_list(inputs.get("profiles"))),
                *device_references("devices", inputs.get("devices")),
                Reference("target", "member", inputs.get("target"))]

    def lxd_problems(self, ctx: Context, inputs: dict[str, Any]) -> Failures:
        kind = inputs.get("type")
        before = ctx.olds if ctx.olds.get("type") == kind else {}  # another type: every key anew
        return [*(("config", p) for p in config_problems(INSTANCE, inputs.get("config"), before.get("config"),
                                                        instance_type=kind)),
                *(("limits", p) for p in config_problems(INSTANCE, inputs.get("limits"), before.get("limits"),
                                                        label="limits", prefix="limits.", instance_type=kind)),
                *(("devices", p) for p in device_problems(changed_devices(inputs.get("devices"),
                                                                          before.get("devices")), kind)),
                *super().lxd_problems(ctx, inputs), *self._image_type_problems(ctx, inputs, before)]

    @staticmethod
    def _image_type_problems(ctx: Context, inputs: dict[str, Any], before: Mapping[str, Any]) -> Failures:
        """A container image does not make a virtual machine, nor the other way round."""
        image, kind = inputs.get("image"), inputs.get("type")
        if image is UNKNOWN or kind is UNKNOWN or not image or before.get("image") == image:
            return []
        found, image_type = ctx.references.find("image", str(image))
        if not found or not image_type or image_type == kind:
            return []
        return [("image", f"image \"{image}\" is a {image_type} image, and this instance is a {kind}. Fix: use a "
                          f"{kind} image (lxd.CachedImage with type \"{kind}\"), or set type to \"{image_type}\"")]

    # --- lifecycle ------------------------------------------------------------------------------
    def create(self, ctx: Context, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        client, name = ctx.client, inputs["name"]
        body = {"name": name, "type": inputs["type"], "source": image_source(inputs["image"]),
                "profiles": list(inputs["profiles"]), "config": lxd_config(inputs, ctx.owner),
                "devices": devices_to_lxd(inputs.get("devices")), "description": inputs.get("description", ""),
                "ephemeral": bool(inputs.get("ephemeral"))}
        target = inputs.get("target")
        outcome = ensure_created(client, body, target, ctx.owner)
        if outcome == "adopted":
            log.info("adopting %s: left by an earlier run of this stack", name)
            self._put(ctx, name, inputs)
            if target:
                ensure_moved(client, name, target)
        if inputs["running"]:
            self._start(ctx, name, outcome)
        return join_id(inputs.get("project"), name), self._outputs(ctx, name, inputs)

    @staticmethod
    def _start(ctx: Context, name: str, outcome: str) -> None:
        """Starts it; an adopted leftover that does not start is left for a person (it may have run and hold
        data: never deleted on a guess). A record whose create was cut off never gets here (made again)."""
        try:
            ensure_running(ctx.client, name)
        except OperationFailed as error:
            if outcome != "adopted":
                raise
            raise StepFailed(f"instance {name}", f"was left by an earlier run of this stack and does not start "
                             f"({error})", f"see `lxc info --show-log {name}`; if nothing in it is worth keeping, "
                             f"delete it (`lxc delete --force {name}`) and run `pulumi up` again") from error

    def _put(self, ctx: Context, name: str, inputs: dict[str, Any]) -> None:
        """Makes config, devices, profiles and description what the inputs say (LXD's own keys kept)."""
        client = ctx.client

        def attempt() -> None:
            current = read_instance(client, name)
            if current is None:
                raise StepFailed(f"instance {name}", "vanished during the update", "run `pulumi up` again")
            kept = {k: v for k, v in (current.get("config") or {}).items() if k.startswith(HIDDEN_PREFIXES)}
            body = {"config": {**kept, **lxd_config(inputs, ctx.owner)},
                    "devices": devices_to_lxd(inputs.get("devices")), "profiles": list(inputs["profiles"]),
                    "description": inputs.get("description", ""), "ephemeral": bool(inputs.get("ephemeral")),
                    "architecture": current.get("architecture")}
            wanted = {k: body[k] for k in ("config", "devices", "profiles", "description", "ephemeral")}
            if all(current.get(k) == v for k, v in wanted.items()):
                return
            client.api.instances[name].put(json=body)

        with_retries(attempt, f"update {name}")

    def _outputs(self, ctx: Context, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        client = ctx.client
        current = with_retries(lambda: read_instance(client, name), f"read {name}") or {}
        running = current.get("status") == "Running"
        if running and inputs.get("waitForNetwork", True):
            wait_for_ipv4(client, name, interface=None)
        state = with_retries(lambda: read_state(client, name), f"read {name}'s state") if running else None
        return {**inputs, **self._observed(current, state)}

    @staticmethod
    def _observed(current: dict[str, Any], state: dict[str, Any] | None) -> dict[str, Any]:
        ipv4 = global_ipv4(state)
        networks = (state or {}).get("network") or {}
        ipv6 = [a["address"] for n in sorted(networks) for a in networks[n].get("addresses", [])
                if a.get("family") == "inet6" and a.get("scope") == "global"]
        macs = [networks[n].get("hwaddr", "") for n in sorted(networks) if n != "lo" and networks[n].get("hwaddr")]
        return {"location": current.get("location", ""), "status": current.get("status", ""),
                "ipv4Address": ipv4[0] if ipv4 else "", "ipv6Address": ipv6[0] if ipv6 else "",
                "macAddress": macs[0] if macs else "",
                "uuid": (current.get("config") or {}).get("volatile.uuid", "")}

    @staticmethod
    def _live(ctx: Context, name: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """The instance's record and, when it runs, its state. Taken from one listing of every instance
        with state, shared by the reads of a refresh; read on its own when the listing does not show
        it plainly (not listed, or on a member that did not answer)."""
        client = ctx.client
        record = ctx.recent_reads.get("instances", lambda: listed_by_name(client)).get(name)
        if record is not None and record.get("status") in LISTED_STATES and (
                record.get("status") != "Running" or record.get("state")):
            return record, record.get("state") if record.get("status") == "Running" else None
        current = with_retries(lambda: read_instance(client, name), f"read {name}")
        running = current is not None and current.get("status") == "Running"
        return current, with_retries(lambda: read_state(client, name), f"read {name}'s state") if running else None

    def read(self, ctx: Context, resource_id: str, state: dict[str, Any],
             inputs: dict[str, Any]) -> tuple[str | None, dict[str, Any], dict[str, Any]]:
        _project, name = split_id(resource_id)
        current, live_state = self._live(ctx, name)
        if current is None or foreign_owner(current.get("config") or {}, ctx.owner):
            return None, {}, {}
        old = {**state, **inputs}
        config, limits = declared_config(current.get("config") or {}, set((old.get("limits") or {}).keys()))
        live_inputs = {
            "name": name,
            "image": old.get("image") or (current.get("config") or {}).get("volatile.base_image", ""),
            "description": current.get("description", ""),
            "type": current.get("type", "container"),
            "ephemeral": bool(current.get("ephemeral")),
            "running": current.get("status") == "Running",
            "profiles": list(current.get("profiles") or []),
            "config": config,
            "devices": devices_from_lxd(current.get("devices")),
            "limits": limits,
            "project": current.get("project") or old.get("project") or "default",
            "target": old.get("target") or current.get("location"),
            "waitForNetwork": old.get("waitForNetwork", True),
        }
        return resource_id, {**live_inputs, **self._observed(current, live_state)}, live_inputs

    def update(self, ctx: Context, resource_id: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        _project, name = split_id(resource_id)
        client = ctx.client
        if any(self.diff(olds, news).detailed.get(key) for key in
               ("config", "devices", "profiles", "limits", "description")):
            self._put(ctx, name, news)
        target = news.get("target")
        if target and target != olds.get("target"):
            ensure_moved(client, name, target, keep_running=news["running"])
        if news["running"]:
            ensure_running(client, name)
        else:
            ensure_stopped(client, name)
        return self._outputs(ctx, name, news)

    def delete(self, ctx: Context, resource_id: str, state: dict[str, Any]) -> None:
        _project, name = split_id(resource_id)
        ensure_deleted(ctx.client, name, ctx.owner)


