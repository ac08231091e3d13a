"""`lxd:index/instance:Instance`: a container (or VM) on the cluster, on the member `target` names.

Follows upstream pulumi-lxd's Instance (terraform-provider-lxd v2.7): name, image, type, ephemeral
and project replace; a `target` change migrates in place (stop -> move -> start, never a move to
where it already is); config, devices, profiles, limits, description and `running` update in place.
Every instance carries our marks (`user.lxdha.managed`, `user.lxdha.stack`): a create adopts only
this stack's own leftover (a create whose answer was lost, or a run that failed after it), never an
instance another stack or a person made; delete and refresh leave another stack's instance alone.

`files` are written after the create (a container's before its first start, a VM's once it runs) and
again when they change; a file dropped from the list is removed from the instance.

`read` reports drift: a move (location), a stop (running=false), a deletion (gone), config changes.
The declared `target` is kept as it was declared, so after a rebalance or a maintenance roll moved
the instance, the next `pulumi up` moves nothing back (the actual member is the `location` output).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar

import pylxd
from pulumi.provider.experimental.provider import PropertyDiff, PropertyDiffKind

from cluster.errors import StepFailed
from cluster.facts import (
    MANAGED_KEY,
    OWNER_KEY,
    global_ipv4,
    is_running,
    read_instance,
    read_instance_records,
    read_state,
)
from cluster.names import instance_name_problem
from cluster.operations import OperationFailed
from cluster.retry import with_retries
from cluster.steps import (
    ADOPTED,
    CREATED,
    ensure_created,
    ensure_deleted,
    ensure_moved,
    ensure_running,
    ensure_stopped,
    foreign_owner,
    started_or_remade,
    wait_for_ipv4,
)
from lxd_provider.base import Context, DiffResult, Failures, Resource, join_id, split_id
from lxd_provider.config_rules import INSTANCE, changed_devices, config_problems, device_problems
from lxd_provider.instance_file import (
    FILE,
    content_hash,
    declared_hashes,
    file_problems,
    files_by_path,
    remove_file,
    write_file,
)
from lxd_provider.references import FINGERPRINT, Reference, device_references
from lxd_provider.spec import (
    BOOLEAN,
    PROJECT,
    STRING,
    STRING_LIST,
    STRING_MAP,
    Prop,
    TypeSpec,
    device_type,
    devices_by_name,
    devices_from_lxd,
    devices_to_lxd,
    list_of,
    ref,
    sorted_map,
)
from lxd_provider.values import UNKNOWN, has_unknowns, known_list
from lxd_provider.wait_for import WAIT_FOR, await_conditions, wait_for_problems

log = logging.getLogger(__name__)

DEVICE = device_type("lxd:index/InstanceDevice:InstanceDevice", "instance")
MARKS = (MANAGED_KEY, OWNER_KEY)
HIDDEN_PREFIXES = ("volatile.", "image.")
TYPES = ("container", "virtual-machine")
LISTED_STATES = ("Running", "Ready", "Stopped", "Frozen")  # a listing's answer taken as is; others are read one by one


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


INTERFACE_IP = TypeSpec("lxd:index/InstanceInterfacesIp:InstanceInterfacesIp", "An address of an interface.", (
    Prop("address", STRING, "IP address."),
    Prop("family", STRING, "inet or inet6."),
    Prop("scope", STRING, "global, link or local."),
))
INTERFACE = TypeSpec("lxd:index/InstanceInterfaces:InstanceInterfaces", "A network interface of the instance, "
                     "as its state shows it.", (
                         Prop("name", STRING, "Name of the interface inside the instance (a VM's: e.g. enp5s0)."),
                         Prop("type", STRING, "Interface type (e.g. broadcast)."),
                         Prop("state", STRING, "up or down."),
                         Prop("ips", list_of(ref(INTERFACE_IP.token)), "Its addresses."),
                     ))


def interfaces(config: Mapping[str, str], state: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The instance's interfaces by the name of their device in its config (the NIC whose
    `volatile.<device>.hwaddr` is the interface's MAC address); the loopback and others no device
    names are left out, as upstream does."""
    devices = {value: key.split(".")[1] for key, value in config.items()
               if key.startswith("volatile.") and key.endswith(".hwaddr") and key.count(".") == 2}
    found = {}
    for name, network in sorted(((state or {}).get("network") or {}).items()):
        device = devices.get(network.get("hwaddr") or "")
        if device:
            found[device] = {"name": name, "type": network.get("type", ""), "state": network.get("state", ""),
                             "ips": [{key: address.get(key, "") for key in ("address", "family", "scope")}
                                     for address in network.get("addresses") or []]}
    return found


class Instance(Resource):
    token: ClassVar[str] = "lxd:index/instance:Instance"
    description: ClassVar[str] = (
        "An LXD instance (system container or VM) on the cluster member `target` names. A `target` "
        "change migrates it in place; the member it actually runs on is the `location` output.")
    types = (DEVICE, FILE, INTERFACE, INTERFACE_IP, WAIT_FOR)
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
        Prop("files", list_of(ref(FILE.token)), "Files written after the create (a container's before it first "
             "starts) and whenever they change; a file dropped from the list is removed.", default=[],
             normalize=files_by_path),
        PROJECT,
        Prop("target", STRING, "Cluster member to create it on; a change migrates it (stop, move, start)."),
        Prop("allowRestart", BOOLEAN, "Let the provider stop and start the instance for a change that needs it (a "
             "move to another target member); false refuses such a change at preview. Upstream's default is false; "
             "here it is true, so a changed target keeps migrating the instance as before.", default=True),
        Prop("waitForNetwork", BOOLEAN, "Wait for a global IPv4 address before finishing.", default=True),
        Prop("waitFors", list_of(ref(WAIT_FOR.token)), "Conditions awaited in order once the provider started it "
             "(created, started or moved): ipv4, ipv6 (on nic), ready, agent (a VM's), delay.", default=[]),
        Prop("location", STRING, "Cluster member the instance runs on now.", input=False),
        Prop("status", STRING, "LXD status (Running, Stopped, ...).", input=False),
        Prop("ipv4Address", STRING, "First global IPv4 address.", input=False),
        Prop("ipv6Address", STRING, "First global IPv6 address.", input=False),
        Prop("macAddress", STRING, "MAC address of the first NIC.", input=False),
        Prop("uuid", STRING, "LXD's volatile.uuid: changes only when the instance is created anew.", input=False),
        Prop("interfaces", {"type": "object", "additionalProperties": ref(INTERFACE.token)}, "Its network "
             "interfaces while it runs, by the name of their NIC device (the loopback left out).", input=False),
        Prop("fileHashes", STRING_MAP, "SHA-256 of each written file's content, by targetPath (how a changed "
             "source file is noticed).", input=False),
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
        if inputs.get("target") is not None and instance_name_problem(str(inputs["target"])):
            failures.append(("target", f"{inputs['target']!r} is not a cluster member name"))
        return failures + self._files_problems(inputs) + wait_for_problems(inputs.get("waitFors"), inputs.get("type"))

    @staticmethod
    def _files_problems(inputs: dict[str, Any]) -> Failures:
        files, failures = inputs.get("files") or [], []
        for index, entry in enumerate(files):
            failures += [("files", f"files[{index}] ({entry.get('targetPath')}): {problem}")
                         for _prop, problem in file_problems(entry)]
        paths = [entry.get("targetPath") for entry in files]
        failures += [("files", f"{path} is declared twice in files: keep one") for path in
                     sorted({p for p in paths if paths.count(p) > 1})]
        if files and inputs.get("type") == "virtual-machine" and not inputs.get("running"):
            failures.append(("files", "a virtual machine takes files only while it runs (through its agent): set "
                                      "running: true, or drop files"))
        return failures

    def diff(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> DiffResult:
        """Property by property, and the files by their content's hash too: a changed source file is an update."""
        result = super().diff(olds, news)
        files = news.get("files")
        if "files" not in result.detailed and not has_unknowns(files) and \
                declared_hashes(files) != (olds.get("fileHashes") or {}):
            result.detailed["files"] = PropertyDiff(PropertyDiffKind.UPDATE, input_diff=True)
            result.changes = True
        return result

    def references(self, inputs: Mapping[str, Any]) -> list[Reference]:
        return [*super().references(inputs), Reference("image", "image", inputs.get("image")),
                *(Reference("profiles", "profile", profile) for profile in known_list(inputs.get("profiles"))),
                *device_references("devices", inputs.get("devices")),
                Reference("target", "member", inputs.get("target"))]

    def declares(self, inputs: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
        return [("instance", inputs.get("name"), inputs.get("type"))]

    def lxd_problems(self, ctx: Context, inputs: dict[str, Any]) -> Failures:
        kind, family = inputs.get("type"), ctx.family
        before = ctx.olds if ctx.olds.get("type") == kind else {}  # another type: every key anew
        return [*(("config", p) for p in config_problems(INSTANCE, inputs.get("config"), before.get("config"),
                                                        instance_type=kind, family=family)),
                *(("limits", p) for p in config_problems(INSTANCE, inputs.get("limits"), before.get("limits"),
                                                        label="limits", prefix="limits.", instance_type=kind,
                                                        family=family)),
                *(("devices", p) for p in device_problems(changed_devices(inputs.get("devices"),
                                                                          before.get("devices")), kind)),
                *super().lxd_problems(ctx, inputs), *self._image_type_problems(ctx, inputs, before)]

    @staticmethod
    def _image_type_problems(ctx: Context, inputs: dict[str, Any], before: Mapping[str, Any]) -> Failures:
        """A container image does not make a virtual machine, nor the other way round."""
        image, kind = inputs.get("image"), inputs.get("type")
        if image is UNKNOWN or kind is UNKNOWN or not image or before.get("image") == image:
            return []
        found, image_type = ctx.references.find("image", str(image), inputs.get("project"))
        if not found or not image_type or image_type == kind:
            return []
        return [("image", f"image \"{image}\" is a {image_type} image, and this instance is a {kind}. Fix: use a "
                          f"{kind} image (lxd.CachedImage with type \"{kind}\"), or set type to \"{image_type}\"")]

    def change_problems(self, ctx: Context, olds: Mapping[str, Any], inputs: dict[str, Any]) -> Failures:
        refusal = self._restart_refusal(ctx.client_for(inputs.get("project")), str(inputs["name"]), olds, inputs)
        return [("target", f"{refusal[0]}: {refusal[1]}")] if refusal else []

    @staticmethod
    def _restart_refusal(client: pylxd.Client, name: str, olds: Mapping[str, Any],
                         news: Mapping[str, Any]) -> tuple[str, str] | None:
        """(why, fix) when the change may not go ahead: it would stop the running instance, and allowRestart
        is false."""
        target = news.get("target")
        if news.get("allowRestart", True) or not news.get("running") or not target or target == olds.get("target"):
            return None
        record = with_retries(lambda: read_instance(client, name), f"read {name}")
        if record is None or not is_running(record) or record.get("location") == target:
            return None  # nothing to stop: not there, stopped, or on that member already
        return (f"moving {name} from {record.get('location')} to {target} stops and starts it, and allowRestart is "
                "false", f"set allowRestart: true, stop it first (running: false), or keep target "
                f"{olds.get('target')!r}")

    # --- lifecycle ------------------------------------------------------------------------------
    def create(self, ctx: Context, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        client, name = ctx.client_for(inputs.get("project")), inputs["name"]
        body = {"name": name, "type": inputs["type"], "source": image_source(inputs["image"]),
                "profiles": list(inputs["profiles"]), "config": lxd_config(inputs, ctx.owner),
                "devices": devices_to_lxd(inputs.get("devices")), "description": inputs.get("description", ""),
                "ephemeral": bool(inputs.get("ephemeral"))}
        target = inputs.get("target")
        return started_or_remade(client, body, target, ctx.owner, ensure_created(client, body, target, ctx.owner),
                                 lambda outcome: self._bring_up(ctx, client, name, inputs, outcome))

    def _bring_up(self, ctx: Context, client: pylxd.Client, name: str, inputs: dict[str, Any],
                  outcome: str) -> tuple[str, dict[str, Any]]:
        """From a created (or adopted) record to what the inputs declare: config, member, files, running."""
        if outcome != CREATED:
            log.info("adopting %s: left by an earlier run of this stack", name)
            self._put(client, ctx.owner, name, inputs)
            if inputs.get("target"):
                ensure_moved(client, name, inputs["target"])
        vm = inputs["type"] == "virtual-machine"  # files go through its agent: once it runs
        hashes = {} if vm else self._write_files(client, name, inputs)
        if inputs["running"]:
            self._start(client, name, outcome)
            if vm and inputs.get("files"):
                await_conditions(client, name, [{"type": "agent"}])
        if vm:
            hashes = self._write_files(client, name, inputs)
        if inputs["running"]:
            await_conditions(client, name, inputs.get("waitFors"))
        return join_id(inputs.get("project"), name), self._outputs(client, name, inputs, hashes)

    @staticmethod
    def _write_files(client: pylxd.Client, name: str, inputs: dict[str, Any],
                     olds: dict[str, Any] | None = None) -> dict[str, str]:
        """Writes the declared files that are new or changed since `olds` and removes those no longer
        declared; returns each one's content hash by targetPath."""
        before = {entry["targetPath"]: entry for entry in files_by_path((olds or {}).get("files"))}
        written = (olds or {}).get("fileHashes") or {}
        hashes = {}
        for entry in files_by_path(inputs.get("files")):
            path = entry["targetPath"]
            unchanged = before.get(path) == entry and written.get(path) == content_hash(entry)
            hashes[path] = written[path] if unchanged else write_file(client, name, entry)
        for path in sorted(set(before) - set(hashes)):
            remove_file(client, name, path)
        return hashes

    @staticmethod
    def _start(client: pylxd.Client, name: str, outcome: str) -> None:
        """Starts it; an adopted leftover that ran once and does not start is left for a person (it may hold
        data: never deleted on a guess). One that never ran and whose root filesystem is partial is made
        again by `create`."""
        try:
            ensure_running(client, name)
        except OperationFailed as error:
            if outcome != ADOPTED:
                raise
            raise StepFailed(f"instance {name}", f"was left by an earlier run of this stack and does not start "
                             f"({error})", f"see `lxc info --show-log {name}`; if nothing in it is worth keeping, "
                             f"delete it (`lxc delete --force {name}`) and run `pulumi up` again") from error

    @staticmethod
    def _put(client: pylxd.Client, owner: str, name: str, inputs: dict[str, Any]) -> None:
        """Makes config, devices, profiles and description what the inputs say (LXD's own keys kept)."""

        def attempt() -> None:
            current = read_instance(client, name)
            if current is None:
                raise StepFailed(f"instance {name}", "vanished during the update", "run `pulumi up` again")
            kept = {k: v for k, v in (current.get("config") or {}).items() if k.startswith(HIDDEN_PREFIXES)}
            body = {"config": {**kept, **lxd_config(inputs, owner)},
                    "devices": devices_to_lxd(inputs.get("devices")), "profiles": list(inputs["profiles"]),
                    "description": inputs.get("description", ""), "ephemeral": bool(inputs.get("ephemeral")),
                    "architecture": current.get("architecture")}
            wanted = {k: body[k] for k in ("config", "devices", "profiles", "description", "ephemeral")}
            if all(current.get(k) == v for k, v in wanted.items()):
                return
            client.api.instances[name].put(json=body)

        with_retries(attempt, f"update {name}")

    def _outputs(self, client: pylxd.Client, name: str, inputs: dict[str, Any],
                 file_hashes: dict[str, str]) -> dict[str, Any]:
        current = with_retries(lambda: read_instance(client, name), f"read {name}") or {}
        running = is_running(current)
        if running and inputs.get("waitForNetwork", True):
            wait_for_ipv4(client, name, interface=None)
        state = with_retries(lambda: read_state(client, name), f"read {name}'s state") if running else None
        return {**inputs, **self._observed(current, state), "fileHashes": file_hashes}

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
                "uuid": (current.get("config") or {}).get("volatile.uuid", ""),
                "interfaces": interfaces(current.get("config") or {}, state)}

    @staticmethod
    def _live(ctx: Context, project: str, name: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """The instance's record and, when it runs, its state. Taken from one listing of every instance
        of its project with state, shared by the reads of a refresh; read on its own when the listing does
        not show it plainly (not listed, or on a member that did not answer)."""
        client = ctx.client_for(project)
        record = ctx.recent_reads.get(("instances", project), lambda: listed_by_name(client)).get(name)
        if record is not None and record.get("status") in LISTED_STATES and (
                not is_running(record) or record.get("state")):
            return record, record.get("state") if is_running(record) else None
        current = with_retries(lambda: read_instance(client, name), f"read {name}")
        running = is_running(current)
        return current, with_retries(lambda: read_state(client, name), f"read {name}'s state") if running else None

    def read(self, ctx: Context, resource_id: str, state: dict[str, Any],
             inputs: dict[str, Any]) -> tuple[str | None, dict[str, Any], dict[str, Any]]:
        project, name = split_id(resource_id)
        current, live_state = self._live(ctx, project, name)
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
            "running": is_running(current),
            "profiles": list(current.get("profiles") or []),
            "config": config,
            "devices": devices_from_lxd(current.get("devices")),
            "limits": limits,
            "project": project,
            # as declared (a move by maintenance is not undone); an import takes where it runs
            "target": old.get("target") if state or inputs else current.get("location"),
            "allowRestart": old.get("allowRestart", True),
            "waitForNetwork": old.get("waitForNetwork", True),
            "waitFors": old.get("waitFors") or [],
            "files": old.get("files") or [],
        }
        outputs = {**live_inputs, **self._observed(current, live_state), "fileHashes": old.get("fileHashes") or {}}
        return resource_id, outputs, live_inputs

    def update(self, ctx: Context, resource_id: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        project, name = split_id(resource_id)
        client = ctx.client_for(project)
        changed = self.diff(olds, news).detailed
        if any(changed.get(key) for key in ("config", "devices", "profiles", "limits", "description")):
            self._put(client, ctx.owner, name, news)
        refusal = self._restart_refusal(client, name, olds, news)
        if refusal:  # checked at preview too; the instance may have started since
            raise StepFailed(f"instance {name}", *refusal)
        target = news.get("target")
        moved = bool(target and target != olds.get("target")) and \
            ensure_moved(client, name, target, keep_running=news["running"])
        if news["running"]:
            ensure_running(client, name)
        else:
            ensure_stopped(client, name)
        hashes = olds.get("fileHashes") or {}
        if changed.get("files"):
            hashes = self._write_files(client, name, news, olds)
        if news["running"] and (moved or not is_running({"status": olds.get("status")})):
            await_conditions(client, name, news.get("waitFors"))  # it was started (or restarted) just now
        return self._outputs(client, name, news, hashes)

    def delete(self, ctx: Context, resource_id: str, state: dict[str, Any]) -> None:
        project, name = split_id(resource_id)
        ensure_deleted(ctx.client_for(project), name, ctx.owner)


