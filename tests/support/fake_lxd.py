"""An in-memory LXD cluster behind a requests transport adapter, for unit tests.

pylxd and our own code talk to it over their real code paths (the same URLs, JSON bodies, async
operations and /wait long-polls as a real cluster), and a test can script the hiccups a real
cluster has: "database is locked", a member OFFLINE for a while, a leader change (503), a response
lost after the server acted, an operation that fails. It implements only what the product uses.

`FakeLxd.cluster(server="incus")` answers as Incus 6.0 does where Incus differs (docs/servers.md): its
environment, X-Incus-* headers, trust by token only, moves without a temporary copy, exec output under
logs/exec-output/. The fake spells
those names itself, so a test checks the product's names against these rather than against themselves.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

import pylxd
import requests
from requests.adapters import BaseAdapter

from cluster.facts import LAST_POWER_KEY as POWER_KEY
from cluster.facts import PENDING_TEMPLATES_KEY as TEMPLATE_KEY

URL = "https://fake-lxd:8443"
# what LXD turns on in a project created without them (LXD 5.0)
DEFAULT_FEATURES = ("features.images", "features.profiles", "features.storage.volumes")
# collections kept per project: instances always; the others when the project's feature is on
SCOPED_BY = {"instances": None, "profiles": "features.profiles", "images": "features.images",
             "networks": "features.networks", "network-acls": "features.networks",
             "storage-pools": "features.storage.volumes"}
INIT = "/sbin/init"  # in every fake instance's root, unless made from a partially unpacked image
DIRECTORIES = frozenset({"/", "/etc", "/root", "/tmp", "/opt"})  # in every fake instance from the start
# what each server family answers where they differ: its version, an extension only it lists, its header
# prefix, the certificates field an untrusted client's secret goes in
SERVERS = {"lxd": {"version": "5.0.2", "extensions": ["projects"], "headers": ("X-LXD-",),
                   "trust_field": "password"},
           # Incus reads the LXD spelling of file headers too ("legacy support"), and answers only its own
           "incus": {"version": "6.0.4", "extensions": ["projects", "dev_incus_events"],
                     "headers": ("X-Incus-", "X-LXD-"), "trust_field": "trust_token"}}

ExecHandler = Callable[[str, list[str]], tuple[int, str, str]]


@dataclass
class Fault:
    """Makes matching requests fail `times` times. kinds:
    error      LXD answers with `status` and `message` (nothing happens)
    connection the connection drops before LXD sees the request (nothing happens)
    lost       LXD does the work, then the connection drops (the client never sees the answer)
    operation  the request is accepted, its background operation fails with `message`
    pass       nothing fails: only `before` runs (the cluster changes as the request arrives)
    """

    method: str
    path: str  # regular expression matched against the URL path (without /1.0)
    kind: str = "error"
    message: str = "database is locked"
    status: int = 500
    times: int = 1
    before: Callable[[], None] | None = None  # side effect when it fires (e.g. a member comes back)

    def matches(self, method: str, path: str) -> bool:
        return self.times > 0 and method == self.method and re.fullmatch(self.path, path) is not None


@dataclass
class FakeResponseError(Exception):
    status: int
    message: str


def _response(request: requests.PreparedRequest, status: int, body: Any, raw: str | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = (raw if raw is not None else json.dumps(body)).encode()
    response.headers["Content-Type"] = "text/plain" if raw is not None else "application/json"
    response.url = request.url or ""
    response.request = request
    response.encoding = "utf-8"
    return response


@dataclass
class FakeLxd:
    members: dict[str, dict[str, Any]] = field(default_factory=dict)
    instances: dict[str, dict[str, Any]] = field(default_factory=dict)
    images: dict[str, dict[str, Any]] = field(default_factory=dict)
    aliases: dict[str, dict[str, Any]] = field(default_factory=dict)
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    networks: dict[str, dict[str, Any]] = field(default_factory=dict)
    pools: dict[str, dict[str, Any]] = field(default_factory=dict)
    volumes: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    acls: dict[str, dict[str, Any]] = field(default_factory=dict)  # network ACLs
    snapshots: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (instance, snapshot)
    files: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (instance, path) -> entry
    projects: dict[str, dict[str, Any]] = field(default_factory=lambda: {"default": {
        "name": "default", "description": "Default LXD project",
        "config": {key: "true" for key in (*DEFAULT_FEATURES, "features.networks")}}})
    views: dict[str, FakeLxd] = field(default_factory=dict)  # project -> the objects kept in it
    project_name: str = "default"
    root: FakeLxd | None = None  # of a project's view: the cluster it is part of
    criu: bool = False  # CRIU installed on the members (stateful snapshots of containers)
    operations: dict[str, dict[str, Any]] = field(default_factory=dict)
    remote_images: dict[str, str] = field(default_factory=dict)  # image on the remote -> fingerprint
    faults: list[Fault] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)
    published_compression: dict[str, str] = field(default_factory=dict)  # fingerprint -> what publish asked for
    pending: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # per-member definitions (clusters)
    offline_reads: dict[str, int] = field(default_factory=dict)  # member -> listings it still shows OFFLINE
    # member -> requests routed to it that still fail: its daemon died, the listing still shows it ONLINE
    silent_requests: dict[str, int] = field(default_factory=dict)
    exec_handler: ExecHandler = lambda _name, _command: (0, "", "")  # noqa: E731
    interrupt_move: tuple[str, str] | None = None  # (phase, message): see _move
    running_operations: list[dict[str, Any]] = field(default_factory=list)  # what GET /operations shows running
    trusted: bool = True
    trust_secret: str = ""  # what POST /certificates takes from an untrusted client (a password or a token)
    server: str = "lxd"  # the family it answers as: lxd or incus (SERVERS)
    # (member, fingerprint): an image volume whose unpack was cut off there; Incus 6.0 makes containers
    # from it as it is (their root filesystems lack /sbin/init and do not start) until it is deleted
    partial_unpacks: set[tuple[str, str]] = field(default_factory=set)
    partial_roots: set[str] = field(default_factory=set)  # instances made from such a volume
    _ids: itertools.count = field(default_factory=itertools.count)

    @classmethod
    def cluster(cls, *names: str, server: str = "lxd") -> FakeLxd:
        fake = cls(server=server)
        for index, name in enumerate(names or ("m1", "m2", "m3"), 1):
            fake.members[name] = {"server_name": name, "status": "Online", "url": f"https://10.9.0.{index}:8443",
                                  "roles": ["database-leader", "database"] if index == 1 else ["database"]}
        fake.profiles["default"] = {"name": "default", "config": {}, "devices": {}, "description": "Default"}
        fake.pools["default"] = {"name": "default", "driver": "dir", "config": {}, "description": "",
                                 "status": "Created"}
        return fake

    # --- what tests use ----------------------------------------------------------------------
    def client(self, project: str | None = None) -> pylxd.Client:
        session = requests.Session()
        session.mount(URL, _Adapter(self))
        return pylxd.Client(endpoint=URL, session=session, timeout=5, project=project)

    def in_project(self, name: str) -> FakeLxd:
        """The objects kept in project `name` (members, pools and operations are shared)."""
        if name == self.project_name:
            return self
        if name not in self.views:
            self.views[name] = FakeLxd(
                members=self.members, pools=self.pools, operations=self.operations, remote_images=self.remote_images,
                exec_handler=self.exec_handler, criu=self.criu, _ids=self._ids, project_name=name, root=self,
                server=self.server,
                profiles={"default": {"name": "default", "config": {}, "devices": {},
                                      "description": f"Default LXD profile for project {name}"}})
        return self.views[name]

    def add_project(self, name: str, **config: str) -> None:
        self.projects[name] = {"name": name, "description": "",
                               "config": {**{key: "true" for key in DEFAULT_FEATURES}, **config}}

    def fail(self, method: str, path: str, **kwargs: Any) -> Fault:
        fault = Fault(method, path, **kwargs)
        self.faults.append(fault)
        return fault

    def add_instance(self, name: str, location: str = "m1", status: str = "Running", lifecycle: str = "ran",
                     **extra: Any) -> dict[str, Any]:
        """`lifecycle` as LXD's volatile keys show it: "ran" (started at least once: last power state kept),
        "created" (storage made, never started: templates pending), "cut-off" (a create that died before its
        storage was made: neither)."""
        marks = {"ran": {POWER_KEY: "RUNNING" if status == "Running" else "STOPPED"},
                 "created": {TEMPLATE_KEY: "create"}, "cut-off": {}}[lifecycle]
        record = {"name": name, "type": "container", "location": location, "status": status,
                  "project": self.project_name,
                  "config": {"volatile.uuid": f"uuid-{name}", "volatile.base_image": "f" * 64,
                             "volatile.eth0.hwaddr": "00:16:3e:00:00:01", **marks}, "devices": {},
                  "expanded_config": {}, "expanded_devices": {}, "profiles": ["default"], "description": "",
                  "ephemeral": False, "created_at": "2026-11-29T00:00:00Z", "architecture": "x86_64",
                  "stateful": False}
        extra = copy.deepcopy(extra)
        record["config"].update(extra.pop("config", {}))
        record.update(extra)
        self.instances[name] = record
        return record

    def add_image(self, fingerprint: str, aliases: tuple[str, ...] = ()) -> None:
        self.images[fingerprint] = {"fingerprint": fingerprint, "architecture": "x86_64", "type": "container",
                                    "created_at": "2026-11-01T00:00:00Z", "uploaded_at": "2026-11-29T00:00:00Z",
                                    "size": 1000, "aliases": [], "public": False, "auto_update": False,
                                    "properties": {}}
        for alias in aliases:
            self.aliases[alias] = {"name": alias, "target": fingerprint, "description": "", "type": "container"}

    def count(self, method: str, path: str) -> int:
        return sum(1 for m, p in self.calls if m == method and re.fullmatch(path, p))

    # --- the server side ---------------------------------------------------------------------
    def handle(self, request: requests.PreparedRequest) -> requests.Response:
        url = urlparse(request.url or "")
        path = url.path.removeprefix("/1.0") or "/"
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        method = request.method or "GET"
        raw = request.headers.get("Content-Type") == "application/octet-stream"
        body = json.loads(request.body) if request.body and not raw else {}
        self.calls.append((method, path + ("?target" if "target" in query else "")))
        fault = next((f for f in self.faults if f.matches(method, path)), None)
        if fault is not None:
            fault.times -= 1
            if fault.before:
                fault.before()
            if fault.kind == "connection":
                raise requests.ConnectionError(f"fake: connection dropped before {method} {path}")
            if fault.kind == "error":
                return _response(request, fault.status, {"type": "error", "error": fault.message,
                                                         "error_code": fault.status})
        try:
            response = self._owner(query, path)._route(request, method, path, query, body)
        except FakeResponseError as error:
            return _response(request, error.status, {"type": "error", "error": error.message,
                                                     "error_code": error.status})
        if fault is not None and fault.kind == "lost":
            raise requests.ConnectionError(f"fake: answer to {method} {path} lost after the server acted")
        if fault is not None and fault.kind == "operation":
            return self._async(request, failure=fault.message)
        return response

    def _sync(self, request: requests.PreparedRequest, metadata: Any, status: int = 200) -> requests.Response:
        return _response(request, status, {"type": "sync", "status": "Success", "status_code": 200,
                                           "metadata": metadata})

    def _async(self, request: requests.PreparedRequest, metadata: Any = None,
               failure: str | None = None) -> requests.Response:
        op_id = f"op{next(self._ids)}"
        self.operations[op_id] = {"id": op_id, "status": "Failure" if failure else "Success",
                                  "err": failure or "", "metadata": metadata or {}}
        return _response(request, 202, {"type": "async", "status": "Operation created", "status_code": 100,
                                        "operation": f"/1.0/operations/{op_id}?project=default",
                                        "metadata": self.operations[op_id]})

    def _owner(self, query: dict[str, str], path: str) -> FakeLxd:
        """Who keeps what the request names: the project's own objects, or the default project's where the
        project does not have that feature (LXD's rule); members, pools and operations are global."""
        project, parts = query.get("project", "default"), [p for p in path.split("/") if p]
        head = parts[0] if parts else ""
        if project == "default" or head not in SCOPED_BY or (head == "storage-pools" and "volumes" not in parts):
            return self
        if project not in self.projects:
            raise FakeResponseError(404, "Project not found")
        feature = SCOPED_BY[head]
        return self if feature and self.projects[project]["config"].get(feature) != "true" else self.in_project(project)

    def _image_keeper(self) -> FakeLxd:
        """Where this project's instances find their images: its own, or the default project's."""
        features = self.root.projects[self.project_name]["config"] if self.root else {}
        return self.root if self.root and features.get("features.images") != "true" else self

    def _member_listing(self) -> list[dict[str, Any]]:
        listing = []
        for name, member in self.members.items():
            shown = dict(member)
            if self.offline_reads.get(name, 0) > 0:
                self.offline_reads[name] -= 1
                shown["status"] = "Offline"
            listing.append(shown)
        return listing

    def _fail_if_routed_to_a_silent_member(self, parts: list[str], query: dict[str, str]) -> None:
        """LXD's answers while a member's daemon is dead but not yet OFFLINE in the listing."""
        instance = self.instances.get(parts[1]) if parts[:1] == ["instances"] and len(parts) > 1 else None
        member = instance["location"] if instance else query.get("target")
        if not member or self.silent_requests.get(member, 0) <= 0:
            return
        self.silent_requests[member] -= 1
        if instance:
            raise FakeResponseError(500, "Missing event connection with target cluster member")
        raise FakeResponseError(500, f"Unable to connect to: {self.members[member]['url'].removeprefix('https://')} "
                                     "([dial tcp: connect: connection refused])")

    def _instance(self, name: str) -> dict[str, Any]:
        if name not in self.instances:
            raise FakeResponseError(404, "Instance not found")
        return self.instances[name]

    def _route(self, request: requests.PreparedRequest, method: str, path: str, query: dict[str, str],
               body: dict[str, Any]) -> requests.Response:
        parts = [p for p in path.split("/") if p]
        self._fail_if_routed_to_a_silent_member(parts, query)
        sync, async_ = (lambda m, s=200: self._sync(request, m, s)), (lambda m=None: self._async(request, m))
        if not parts:
            return sync(self._server_info())
        head = parts[0]
        if head == "certificates" and method == "POST":
            return self._trust(body, sync)
        if head == "cluster" and parts[1:] == ["members"]:
            return sync(self._member_listing())
        if head == "operations":
            if len(parts) == 1:  # the cluster-wide listing; the fake's operations finish at once
                return sync({"running": list(self.running_operations), "success": [], "failure": []})
            operation = self.operations.get(parts[1])
            if operation is None:
                raise FakeResponseError(404, "Operation not found")
            return sync(operation)
        if head == "instances":
            return self._instances(parts[1:], method, query, body, sync, async_, request)
        if head == "images":
            uploaded = request.headers.get("Content-Type") == "application/octet-stream"
            if method == "POST" and parts == ["images"] and uploaded:
                return self._upload_image(request, async_)
            return self._images(parts[1:], method, body, sync, async_, query)
        if head == "projects":
            return self._projects(parts[1:], method, body, sync)
        if head in ("profiles", "networks", "network-acls"):
            store, what = {"profiles": (self.profiles, "profile"), "networks": (self.networks, "network"),
                           "network-acls": (self.acls, "network ACL")}[head]
            return self._simple(store, what, parts[1:], method, body, sync, query)
        if head == "storage-pools":
            if len(parts) >= 3 and parts[2] == "volumes":
                return self._volumes(parts[1], parts[3:], method, body, sync, async_, query)
            return self._simple(self.pools, "storage pool", parts[1:], method, body, sync, query)
        raise FakeResponseError(404, f"not implemented in the fake: {method} {path}")

    def _server_info(self) -> dict[str, Any]:
        """GET /1.0: to an untrusted client only the API's version and extensions, no environment."""
        server = SERVERS[self.server]
        untrusted = {"auth": "untrusted", "api_extensions": list(server["extensions"]), "api_status": "stable",
                     "api_version": "1.0", "public": False, "auth_methods": ["tls"], "config": {}}
        if not self.trusted:
            return untrusted
        return {**untrusted, "auth": "trusted", "environment": {
            "server": self.server, "server_clustered": bool(self.members), "server_name": "m1",
            "server_version": server["version"], "driver": "lxc | qemu"}}

    def _trust(self, body: dict[str, Any], sync: Callable) -> requests.Response:
        """An untrusted client adds its certificate with the secret in the family's field; anything else is
        refused as the servers refuse it (403, "not authorized")."""
        secret = body.get(SERVERS[self.server]["trust_field"])
        if not self.trusted and (not self.trust_secret or secret != self.trust_secret):
            raise FakeResponseError(403, "not authorized")
        self.trusted = True
        return sync({}, 201)

    def _instances(self, rest: list[str], method: str, query: dict[str, str], body: dict[str, Any],
                   sync: Callable, async_: Callable, request: requests.PreparedRequest) -> requests.Response:
        if not rest:
            if method == "GET":
                recursion = query.get("recursion", "0")
                records = [self._with_state(i) if recursion == "2" else i for i in self.instances.values()]
                return sync(records if recursion != "0" else [f"/1.0/instances/{n}" for n in self.instances])
            target = query.get("target") or next(iter(self.members))
            if self.members.get(target, {}).get("status") != "Online" or self.offline_reads.get(target, 0) > 0:
                raise FakeResponseError(500, "Target node is offline")
            if body["name"] in self.instances:
                raise FakeResponseError(409, "Instance already exists")
            source = body.get("source") or {}
            alias = source.get("alias")
            aliases = self._image_keeper().aliases
            if alias and alias not in aliases:
                raise FakeResponseError(404, "Image not found")
            fingerprint = source.get("fingerprint") or (aliases[alias]["target"] if alias else "")
            if (target, fingerprint) in self.partial_unpacks:
                self.partial_roots.add(body["name"])
            self.add_instance(body["name"], target, "Stopped", lifecycle="created", config={
                **body.get("config", {}), "volatile.uuid": f"uuid-{body['name']}-{next(self._ids)}",
                "volatile.base_image": fingerprint}, devices=body.get("devices", {}),
                expanded_devices={"root": {"path": "/", "pool": next(iter(self.pools), "default"), "type": "disk"},
                                  **body.get("devices", {})},
                profiles=body.get("profiles", ["default"]), description=body.get("description", ""),
                ephemeral=body.get("ephemeral", False), type=body.get("type", "container"))
            return async_()
        name = rest[0]
        instance = self._instance(name)
        if len(rest) == 1:
            if method == "GET":
                return sync(instance)
            if method in ("PUT", "PATCH"):
                for key in ("config", "devices", "profiles", "description", "ephemeral"):
                    if key in body:
                        if method == "PATCH" and isinstance(body[key], dict):
                            instance[key] = {**instance[key], **body[key]}
                            instance[key] = {k: v for k, v in instance[key].items() if v != ""}
                        else:
                            instance[key] = copy.deepcopy(body[key])
                return sync({})
            if method == "DELETE":
                if instance["status"] == "Running":
                    raise FakeResponseError(400, "Instance is running")
                del self.instances[name]
                self.partial_roots.discard(name)
                self.snapshots = {key: value for key, value in self.snapshots.items() if key[0] != name}
                self.files = {key: value for key, value in self.files.items() if key[0] != name}
                return async_()
            if method == "POST":  # move between members (migration) or rename
                target = query.get("target")
                if target:
                    if target == instance["location"]:
                        raise FakeResponseError(400, "Target must be different than instance's current location")
                    if self.members.get(target, {}).get("status") != "Online" or self.offline_reads.get(target, 0):
                        raise FakeResponseError(500, "Target node is offline")
                    if instance["status"] == "Running":
                        raise FakeResponseError(400, "Instance must be stopped to be moved statelessly")
                    return self._move(request, name, instance, target)
                if body.get("name") and body["name"] != name:
                    if body["name"] in self.instances:
                        raise FakeResponseError(409, f"Name {body['name']!r} already in use")
                    self.instances[body["name"]] = {**self.instances.pop(name), "name": body["name"]}
                    return async_()
                raise FakeResponseError(400, "only moves and renames are implemented in the fake")
        if rest[1] == "state":
            if method == "GET":
                return sync(self._state(instance))
            action = body["action"]
            instance["config"].pop(TEMPLATE_KEY, None)  # applied at the first start
            if action == "start" and name in self.partial_roots:  # as LXC's exec of /sbin/init fails
                instance["config"][POWER_KEY] = "STOPPED"
                return self._async(request, failure=f"Failed to run: incusd forkstart {name}: exit status 1")
            instance["status"] = {"start": "Running", "stop": "Stopped", "restart": "Running"}[action]
            instance["config"][POWER_KEY] = instance["status"].upper()
            return async_()
        if rest[1] == "snapshots":
            return self._snapshots(request, instance, rest[2:], method, body, sync, async_)
        if rest[1] == "files":
            return self._files(request, name, query["path"], method, sync)
        if rest[1] == "exec":
            code, stdout, stderr = self.exec_handler(name, body["command"])
            folder = f"/1.0/instances/{name}/logs/" + ("exec-output/" if self.server == "incus" else "")
            logs = {"1": f"{folder}exec_{next(self._ids)}.stdout", "2": f"{folder}exec_{next(self._ids)}.stderr"}
            self._logs = getattr(self, "_logs", {})
            self._logs[logs["1"].removeprefix("/1.0")] = stdout
            self._logs[logs["2"].removeprefix("/1.0")] = stderr
            return async_({"return": code, "output": logs})
        if rest[1] == "logs":
            key = "/instances/" + "/".join([name, *rest[1:]])
            if method == "DELETE":
                self._logs.pop(key, None)
                return sync({})
            return _response(request, 200, None, raw=self._logs.get(key, ""))
        raise FakeResponseError(404, "not implemented in the fake")

    def _move(self, request: requests.PreparedRequest, name: str, instance: dict[str, Any],
              target: str) -> requests.Response:
        """LXD 5.0's move between members on local storage: copy to the target under a temporary name,
        delete the original, rename the copy. `interrupt_move` = (phase, message) fails the next move's
        operation in "transfer" (reverted: nothing left), or after "copy" or "delete" (a member restarted,
        the leader lost), leaving what LXD leaves. Incus 6.0 moves the instance under its own name and then
        points its record at the target: here an interrupted move leaves it where it was."""
        if self.server == "incus":
            if self.interrupt_move:
                message, self.interrupt_move = self.interrupt_move[1], None
                return self._async(request, failure=message)
            instance["location"] = target
            return self._async(request)
        copy_name = f"lxd-move-of-{instance['config'].get('volatile.uuid')}"
        if copy_name in self.instances:
            return self._async(request, failure='Copy instance operation failed: Failed creating instance record: '
                                                'Add instance info to the database: This "instances" entry already '
                                                'exists')
        phase, message = self.interrupt_move or ("", "")
        if phase == "transfer":  # the target's create failed and was reverted: nothing is left
            self.interrupt_move = None
            return self._async(request, failure=message)
        self.instances[copy_name] = {**copy.deepcopy(instance), "name": copy_name, "location": target}
        if phase == "copy":
            self.interrupt_move = None
            return self._async(request, failure=message)
        del self.instances[name]
        if phase == "delete":
            self.interrupt_move = None
            return self._async(request, failure=message)
        self.instances[name] = {**self.instances.pop(copy_name), "name": name}
        return self._async(request)

    def _snapshots(self, request: requests.PreparedRequest, instance: dict[str, Any], rest: list[str], method: str,
                   body: dict[str, Any], sync: Callable, async_: Callable) -> requests.Response:
        name = instance["name"]
        if not rest:
            if method == "POST":
                if (name, body["name"]) in self.snapshots:
                    raise FakeResponseError(409, "Snapshot already exists")
                problem = self._stateful_problem(instance) if body.get("stateful") else None
                if problem:  # LXD finds out in the operation, not when it takes the request
                    return self._async(request, failure=problem)
                self.snapshots[(name, body["name"])] = {
                    "name": body["name"], "stateful": bool(body.get("stateful")), "created_at": "2026-11-29T01:00:00Z",
                    "config": copy.deepcopy(instance["config"]), "devices": copy.deepcopy(instance["devices"])}
                return async_()
            return sync([s for (owner, _), s in self.snapshots.items() if owner == name])
        key = (name, rest[0])
        if key not in self.snapshots:
            raise FakeResponseError(404, "Snapshot not found")
        if method == "GET":
            return sync(self.snapshots[key])
        if method == "DELETE":
            del self.snapshots[key]
            return async_()
        raise FakeResponseError(400, f"{method} on a snapshot is not implemented in the fake")

    def _stateful_problem(self, instance: dict[str, Any]) -> str | None:
        """LXD's own words when a stateful snapshot cannot be taken (Incus asks a container for
        migration.stateful first)."""
        if self.server == "incus" and instance["type"] == "container" and \
                instance["config"].get("migration.stateful") != "true":
            return "Stateful snapshots require that the instance has migration.stateful be set to true"
        if instance["status"] != "Running":
            return "Unable to create a stateful snapshot. The instance isn't running"
        if instance["type"] == "virtual-machine":
            stateful = instance["config"].get("migration.stateful") == "true"
            return None if stateful else "Stateful snapshot requires migration.stateful to be set to true"
        return None if self.criu else "Unable to create a stateful snapshot. CRIU isn't installed"

    def _file(self, name: str, path: str) -> dict[str, Any] | None:
        if path == INIT and name not in self.partial_roots:
            return self.files.get((name, path), {"type": "symlink", "content": b"/lib/systemd/systemd", "uid": 0,
                                                 "gid": 0, "mode": "0777"})
        if path in DIRECTORIES:
            return self.files.get((name, path), {"type": "directory", "uid": 0, "gid": 0, "mode": "0755"})
        return self.files.get((name, path))

    def _files(self, request: requests.PreparedRequest, name: str, path: str, method: str,
               sync: Callable) -> requests.Response:
        """LXD's file API: GET answers the raw content and X-LXD-* headers (Incus: X-Incus-*; a directory: its
        entries), POST writes (its parent must exist), DELETE removes."""
        entry = self._file(name, path)
        prefixes = SERVERS[self.server]["headers"]
        if method == "GET":
            if entry is None:
                raise FakeResponseError(404, "Not Found")
            if entry["type"] == "directory":
                response = sync([p.rsplit("/", 1)[1] for (owner, p) in self.files
                                 if owner == name and p.rsplit("/", 1)[0] == path.rstrip("/")])
            else:
                response = _response(request, 200, None, raw=entry["content"].decode(errors="replace"))
                response._content = entry["content"]
            response.headers.update({f"{prefixes[0]}{key}": str(entry[key]) for key in ("type", "uid", "gid", "mode")})
            return response
        if method == "POST":
            if self._file(name, path.rsplit("/", 1)[0] or "/") is None:
                raise FakeResponseError(404, f"Failed to open {path}: no such file or directory")

            def header(key: str, default: str) -> str:
                return next((request.headers[p + key] for p in prefixes if p + key in request.headers), default)

            kind = header("type", "file")
            content = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
            self.files[(name, path)] = {"type": kind, "content": content if kind == "file" else b"",
                                        "uid": int(header("uid", "0")), "gid": int(header("gid", "0")),
                                        "mode": header("mode", "0644")}
            return sync({})
        if method == "DELETE":
            if self.files.pop((name, path), None) is None:
                raise FakeResponseError(404, "Not Found")
            return sync({})
        raise FakeResponseError(400, f"{method} on files is not implemented in the fake")

    def _state(self, instance: dict[str, Any]) -> dict[str, Any]:
        running = instance["status"] in ("Running", "Ready")
        address = instance.get("fake_ipv4", "10.9.0.100")
        addresses = [{"family": "inet", "address": address, "scope": "global"}] if address else []
        if instance.get("fake_ipv6", "fd00::1"):
            addresses.append({"family": "inet6", "address": instance.get("fake_ipv6", "fd00::1"), "scope": "global"})
        network = {"eth0": {"hwaddr": "00:16:3e:00:00:01", "type": "broadcast", "state": "up", "addresses": addresses},
                   "lo": {"hwaddr": "", "type": "loopback", "state": "up", "addresses": [
                       {"family": "inet", "address": "127.0.0.1", "scope": "local"}]}} if running else {}
        processes = instance.get("fake_processes", 12) if running else 0
        return {"status": instance["status"], "network": network, "pid": 4242 if running else 0,
                "processes": processes}

    def _with_state(self, instance: dict[str, Any]) -> dict[str, Any]:
        return {**instance, "state": self._state(instance)}

    def _upload_image(self, request: requests.PreparedRequest, async_: Callable) -> requests.Response:
        """POST /1.0/images with the image file as the body: public and filename come in headers, which each
        family reads in its own spelling only."""
        content = request.body.read() if hasattr(request.body, "read") else request.body or b""
        fingerprint = hashlib.sha256(content).hexdigest()
        prefix = SERVERS[self.server]["headers"][0]
        self.add_image(fingerprint)
        self.images[fingerprint].update(public=request.headers.get(f"{prefix}public") == "true",
                                        filename=request.headers.get(f"{prefix}filename", ""))
        return async_({"fingerprint": fingerprint})

    def _images(self, rest: list[str], method: str, body: dict[str, Any], sync: Callable,
                async_: Callable, query: dict[str, str]) -> requests.Response:
        if not rest:
            if method == "POST" and body["source"].get("type") in ("instance", "container"):  # publish
                builder = self._instance(body["source"]["name"])
                if builder["status"] == "Running":
                    raise FakeResponseError(400, "The instance must be stopped to be published")
                fingerprint = f"{next(self._ids):064x}"
                compression = body.get("compression_algorithm") or "gzip"
                if compression not in ("none", "gzip", "bzip2", "lzma", "xz", "zstd"):
                    raise FakeResponseError(400, f"Unsupported compression algorithm {compression!r}")
                self.add_image(fingerprint)
                self.images[fingerprint]["properties"] = dict(body.get("properties") or {})
                self.published_compression[fingerprint] = compression
                return async_({"fingerprint": fingerprint})
            if method == "POST":
                source = body["source"]
                fingerprint = self.remote_images.get(source.get("alias") or source.get("fingerprint"))
                if fingerprint is None:
                    raise FakeResponseError(404, "The requested image couldn't be found")
                held = sorted(a for a, record in self.aliases.items() if record["target"] == fingerprint)
                if self.server == "incus" and fingerprint in self.images and held:
                    raise FakeResponseError(400, f"Alias already exists: {held[0]}")  # Incus 6.0.4, measured
                if fingerprint not in self.images:
                    self.add_image(fingerprint)
                return async_({"fingerprint": fingerprint})
            if query.get("recursion") == "1":
                return sync(list(self.images.values()))
            return sync([f"/1.0/images/{f}" for f in self.images])
        if rest[0] == "aliases":
            if len(rest) == 1:
                if method == "POST":
                    if body["name"] in self.aliases:
                        raise FakeResponseError(409, "Alias already exists")
                    self.aliases[body["name"]] = {"name": body["name"], "target": body["target"],
                                                  "description": body.get("description", ""), "type": "container"}
                    return sync({})
                return sync(list(self.aliases.values()))
            alias = "/".join(rest[1:])
            if alias not in self.aliases:
                raise FakeResponseError(404, "Alias not found")
            if method == "GET":
                return sync(self.aliases[alias])
            if method == "PUT":
                self.aliases[alias].update(target=body["target"], description=body.get("description", ""))
                return sync({})
            if method == "DELETE":
                del self.aliases[alias]
                return sync({})
        fingerprint = rest[0]
        if fingerprint not in self.images:
            raise FakeResponseError(404, "Image not found")
        if method == "DELETE":
            del self.images[fingerprint]
            return async_()
        return sync({**self.images[fingerprint],
                     "aliases": [a for a in self.aliases.values() if a["target"] == fingerprint]})

    def _projects(self, rest: list[str], method: str, body: dict[str, Any], sync: Callable) -> requests.Response:
        if not rest:
            if method == "POST":
                if body["name"] in self.projects:
                    raise FakeResponseError(409, "Error inserting into database: The project already exists")
                self.add_project(body["name"], **body.get("config", {}))
                self.projects[body["name"]]["description"] = body.get("description", "")
                return sync({})
            return sync(list(self.projects.values()))
        name = rest[0]
        if name not in self.projects:
            raise FakeResponseError(404, "Project not found")
        if method == "GET":
            return sync({**self.projects[name], "used_by": self._used_by(name)})
        if method == "PUT":
            self.projects[name].update(config=copy.deepcopy(body.get("config", {})),
                                       description=body.get("description", ""))
            return sync({})
        if method == "DELETE":
            if name == "default":
                raise FakeResponseError(403, "The 'default' project cannot be deleted")
            if self._used_by(name):
                raise FakeResponseError(400, "Only empty projects can be removed")
            del self.projects[name]
            self.views.pop(name, None)
            return sync({})
        raise FakeResponseError(400, f"{method} on a project is not implemented in the fake")

    def _used_by(self, project: str) -> list[str]:
        view = self.views.get(project)
        if view is None:
            return []
        return [*(f"/1.0/instances/{n}" for n in view.instances), *(f"/1.0/images/{f}" for f in view.images),
                *(f"/1.0/profiles/{n}" for n in view.profiles if n != "default"),
                *(f"/1.0/storage-pools/{p}/volumes/custom/{n}" for p, n in view.volumes),
                *(f"/1.0/network-acls/{n}" for n in view.acls), *(f"/1.0/networks/{n}" for n in view.networks)]

    def _simple(self, store: dict[str, dict[str, Any]], what: str, rest: list[str], method: str,
                body: dict[str, Any], sync: Callable, query: dict[str, str]) -> requests.Response:
        clustered = what in ("network", "storage pool")  # defined on each member first, then created
        if not rest:
            if method == "POST":
                if body["name"] in store:
                    raise FakeResponseError(409, f"The {what} already exists")
                if clustered and query.get("target"):  # a clustered network/pool: defined per member first
                    pending = self.pending.setdefault((what, body["name"]), set())
                    if query["target"] in pending:
                        raise FakeResponseError(409, f"The {what} already defined on member {query['target']}")
                    pending.add(query["target"])
                    return sync({})
                if clustered and self.pending.get((what, body["name"])) != set(self.members):
                    raise FakeResponseError(400, f"The {what} is not defined on every member")
                store[body["name"]] = {"config": {}, "devices": {}, "description": "", **copy.deepcopy(body)}
                if what == "network ACL":  # LXD answers every rule field, empty where not set
                    for direction in ("ingress", "egress"):
                        store[body["name"]][direction] = [{**dict.fromkeys(ACL_RULE_FIELDS, ""), **rule}
                                                          for rule in body.get(direction) or []]
                return sync({})
            return sync(list(store.values()))
        name = rest[0]
        if name not in store:
            raise FakeResponseError(404, f"{what.capitalize()} not found")
        if method == "GET":
            return sync({**store[name], "used_by": []})
        if method in ("PUT", "PATCH"):
            for key, value in body.items():
                store[name][key] = copy.deepcopy(value) if method == "PUT" or not isinstance(value, dict) \
                    else {**store[name].get(key, {}), **value}
            return sync({})
        if method == "DELETE":
            del store[name]
            return sync({})
        raise FakeResponseError(400, f"{method} not implemented in the fake")

    def _volumes(self, pool: str, rest: list[str], method: str, body: dict[str, Any], sync: Callable,
                 async_: Callable, query: dict[str, str]) -> requests.Response:
        if pool not in self.pools:
            raise FakeResponseError(404, "Storage pool not found")
        if not rest or rest == ["custom"]:
            if method == "POST":
                key = (pool, body["name"])
                if key in self.volumes:
                    raise FakeResponseError(409, "Volume already exists")
                source = body.get("source") or {}
                if source.get("type") == "copy":  # a copy is an operation, as in LXD
                    original = self.volumes.get((source["pool"], source["name"]))
                    # on a member's local pool, the source is looked for on the member the request goes to
                    where = source.get("location") or query.get("target")
                    if original is None or (where and original.get("location") not in ("", None, where)):
                        raise FakeResponseError(404, "Storage volume not found")
                    self.volumes[key] = {**copy.deepcopy(original), "name": body["name"],
                                         "location": query.get("target", original.get("location", ""))}
                    return async_()
                self.volumes[key] = {"type": "custom", "config": {}, "description": "", **copy.deepcopy(body),
                                     "location": query.get("target", "")}
                return sync({})
            return sync([v for (p, _), v in self.volumes.items() if p == pool])
        if rest[:1] == ["image"] and method == "DELETE":  # the member's copy of an image (target: that member)
            member = query.get("target") or "m1"
            self.partial_unpacks.discard((member, rest[-1]))
            return sync({})
        key = (pool, rest[-1])
        if key not in self.volumes or query.get("target") not in (None, self.volumes[key].get("location") or
                                                                   query.get("target")):
            raise FakeResponseError(404, "Storage volume not found")  # (on a local pool: not on that member)
        if method == "GET":
            return sync({**self.volumes[key], "used_by": []})
        if method in ("PUT", "PATCH"):
            self.volumes[key].update(copy.deepcopy(body))
            return sync({})
        if method == "DELETE":
            del self.volumes[key]
            return sync({})
        raise FakeResponseError(400, f"{method} not implemented in the fake")


ACL_RULE_FIELDS = ("action", "source", "destination", "protocol", "source_port", "destination_port", "icmp_type",
                   "icmp_code", "description", "state")


class _Adapter(BaseAdapter):
    def __init__(self, fake: FakeLxd) -> None:
        super().__init__()
        self.fake = fake

    def send(self, request: requests.PreparedRequest, **_kwargs: Any) -> requests.Response:
        return self.fake.handle(request)

    def close(self) -> None:
        return None
