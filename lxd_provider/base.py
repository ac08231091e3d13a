"""What every LXD resource of the provider shares: its declared properties, `check` (defaults,
required, types, then the resource's own rules), a detailed `diff` that marks update vs replace per
property, and the context a call runs in (the cluster connection, the stack that owns the object)."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

import pylxd
from pulumi.provider.experimental.provider import PropertyDiff, PropertyDiffKind

from cluster.connection import DEFAULT_PROJECT, ClusterConnection
from cluster.errors import ConfigError, ProjectMissing
from cluster.names import instance_name_problem
from cluster.recent_reads import RecentReads
from cluster.server_family import LXD, ServerFamily, server_family
from lxd_provider.references import Declared, Reference, References, new_references
from lxd_provider.spec import INSTANCE, Prop, TypeSpec
from lxd_provider.values import UNKNOWN, has_unknowns

Failures = list[tuple[str, str]]  # (property, reason)


def owner_from_urn(urn: str) -> str:
    """`<project>/<stack>` from `urn:pulumi:<stack>::<project>::<type>::<name>`: the mark that keeps
    another stack from adopting or deleting what this one made."""
    try:
        stack_part, project = urn.split("::")[0:2]
        return f"{project}/{stack_part.rsplit(':', 1)[1]}"
    except (ValueError, IndexError):
        return "unknown/unknown"


@dataclass
class Context:
    """One engine call: the provider's (lazy) cluster connection and the URN of the resource; for a check,
    the inputs applied before (empty for a create) and what the program declares."""

    connection: ClusterConnection | None
    urn: str = ""
    preview: bool = False
    olds: Mapping[str, Any] = field(default_factory=dict)
    declared: Declared = field(default_factory=Declared)

    def _connected(self) -> ClusterConnection:
        if self.connection is None:
            raise ConfigError("lxd:remote", "the provider is not configured", "set the lxd:* stack config keys")
        return self.connection

    @property
    def client(self) -> pylxd.Client:
        """A client of the default project (cluster-wide reads: members)."""
        return self._connected().client()

    def client_for(self, project: str | None) -> pylxd.Client:
        """A client whose every call goes to that LXD project; ProjectMissing when it does not exist."""
        return self._connected().client(project or DEFAULT_PROJECT)

    @property
    def owner(self) -> str | None:
        """The stack that owns what this call touches; None for a function (an Invoke has no URN), which
        reads whatever it is asked for, whoever made it."""
        return owner_from_urn(self.urn) if self.urn else None

    @cached_property
    def references(self) -> References:
        return References(self.client_for, self.declared)

    @cached_property
    def family(self) -> ServerFamily:
        """The server's family (what it takes differs between LXD 5.0 and Incus 6.0); LXD 5.0 when the server
        cannot answer this preview."""
        answered, family = self.references.ask("read the server's family", server_family)
        return family if answered else LXD

    @property
    def recent_reads(self) -> RecentReads:
        """Listings shared by the reads of one refresh (see cluster/recent_reads.py)."""
        return self._connected().recent_reads


def split_id(resource_id: str) -> tuple[str, str]:
    """`[<project>/]<name>` -> (project, name); upstream's import ids also allow a `<remote>:` prefix."""
    if ":" in resource_id.split("/", 1)[0]:
        resource_id = resource_id.split(":", 1)[1]
    project, _, name = resource_id.rpartition("/")
    return project or DEFAULT_PROJECT, name


def join_id(project: str | None, name: str) -> str:
    return name if (project or DEFAULT_PROJECT) == DEFAULT_PROJECT else f"{project}/{name}"


def instance_problems(inputs: Mapping[str, Any]) -> Failures:
    """The `instance` an object belongs to (a snapshot, a file) must be an instance name, once it is known."""
    value = inputs.get("instance")
    problem = None if value is None or has_unknowns(value) else instance_name_problem(str(value))
    return [("instance", problem)] if problem else []


_TYPE_CHECKS = {"string": str, "boolean": bool, "integer": int, "number": (int, float), "array": list, "object": dict}


def _type_problem(prop: Prop, value: Any) -> str | None:
    expected = prop.schema.get("type")
    if value is UNKNOWN or value is None or expected is None:
        return None
    python_type = _TYPE_CHECKS.get(expected)
    bool_as_number = expected in ("integer", "number") and isinstance(value, bool)
    if python_type is None or (isinstance(value, python_type) and not bool_as_number):
        return None
    return f"must be {'an' if expected[0] in 'aeiou' else 'a'} {expected}, got {type(value).__name__}"


def declared_values(props: tuple[Prop, ...], news: Mapping[str, Any], token: str) -> tuple[dict[str, Any], Failures]:
    """The values of `props` in `news` with defaults applied, and every missing, mistyped or unknown one
    named: a resource's inputs and a function's arguments alike."""
    values: dict[str, Any] = {}
    failures: Failures = []
    for prop in props:
        value = news.get(prop.name)
        if value is None and prop.default is not None:
            value = copy.deepcopy(prop.default)
        if value is None:
            if prop.required:
                failures.append((prop.name, f"{prop.name} is required: {prop.description}"))
            continue
        problem = _type_problem(prop, value)
        if problem:
            failures.append((prop.name, f"{prop.name} {problem}"))
        values[prop.name] = value
    unknown = sorted(set(news) - {p.name for p in props} - {"__defaults"})
    failures += [(name, f"{name} is not a property of {token}") for name in unknown]
    return values, failures


@dataclass
class DiffResult:
    changes: bool
    replaces: list[str] = field(default_factory=list)
    detailed: dict[str, PropertyDiff] = field(default_factory=dict)


class Resource:
    """Base of every LXD object the provider manages; subclasses declare `token`, `props`, and the
    cluster operations (create, read, update, delete), each idempotent against a retry."""

    token: ClassVar[str]
    description: ClassVar[str]
    props: ClassVar[tuple[Prop, ...]]
    types: ClassVar[tuple[TypeSpec, ...]] = ()
    id_description: ClassVar[str] = "[<project>/]<name>"

    # --- declared shape -------------------------------------------------------------------------
    @classmethod
    def inputs(cls) -> tuple[Prop, ...]:
        return tuple(p for p in cls.props if p.input)

    @classmethod
    def secret_names(cls) -> tuple[str, ...]:
        return tuple(p.name for p in cls.props if p.secret)

    @classmethod
    def schema(cls) -> dict[str, Any]:
        inputs = cls.inputs()
        return {
            "description": cls.description + f"\n\nImport id: `{cls.id_description}`.",
            "properties": {p.name: p.schema_entry() for p in cls.props},
            "required": [p.name for p in cls.props if not p.input or p.required or p.default is not None],
            "inputProperties": {p.name: p.schema_entry() for p in inputs},
            "requiredInputs": [p.name for p in inputs if p.required],
        }

    # --- check ----------------------------------------------------------------------------------
    def check(self, ctx: Context, news: Mapping[str, Any],
              olds: Mapping[str, Any] | None = None) -> tuple[dict[str, Any], Failures]:
        """Inputs with defaults applied, and every problem naming its property; `olds`: the inputs of the
        object as it exists (a change), when there is one (the engine's call passes them in the context)."""
        if olds is not None:
            ctx = dataclasses.replace(ctx, olds=olds)
        inputs, failures = declared_values(self.inputs(), news, self.token)
        if not failures:
            failures += self.validate(inputs)
        if not failures:
            failures += self.lxd_problems(ctx, inputs)
        if not failures and not has_unknowns(inputs):
            # a project not there yet may be declared in the same program (made first); create names it otherwise
            with contextlib.suppress(ProjectMissing):
                failures += self.live_problems(ctx, inputs)
                if ctx.olds:
                    failures += self.change_problems(ctx, ctx.olds, inputs)
        for kind, name, detail in self.declares(inputs):
            ctx.declared.add(kind, name, detail)
        return inputs, failures

    def validate(self, inputs: dict[str, Any]) -> Failures:
        """The resource's own rules on its inputs (no cluster access)."""
        return []

    def references(self, inputs: Mapping[str, Any]) -> list[Reference]:
        """The objects the inputs name, which must exist (lxd_provider/references.py)."""
        project = inputs.get("project")
        found = [Reference("project", "project", project)] if project not in (None, DEFAULT_PROJECT) else []
        if INSTANCE in self.props:  # what belongs to an instance (a snapshot, a file)
            found.append(Reference("instance", "instance", inputs.get("instance")))
        return found

    def declares(self, inputs: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
        """(kind, name, detail) of what this resource makes, for the references of others in the program."""
        return []

    def lxd_problems(self, ctx: Context, inputs: dict[str, Any]) -> Failures:
        """What LXD would refuse, checked at preview for what is new or changed: references to objects that
        do not exist; resources add their config and device rules (lxd_provider/config_rules.py)."""
        return ctx.references.problems(new_references(self.references(inputs), self.references(ctx.olds)),
                                       inputs.get("project"))

    def live_problems(self, ctx: Context, inputs: dict[str, Any]) -> Failures:
        """Rules that need the cluster (checked at preview, before anything is created)."""
        return []

    def change_problems(self, ctx: Context, olds: Mapping[str, Any], inputs: dict[str, Any]) -> Failures:
        """Rules on a change of an existing object that need the cluster (checked at preview)."""
        return []

    # --- diff -----------------------------------------------------------------------------------
    def diff(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> DiffResult:
        """Property by property: old state vs new inputs, normalized; replacement where declared."""
        detailed: dict[str, PropertyDiff] = {}
        replaces: list[str] = []
        for prop in self.inputs():
            old, new = prop.normalized(olds.get(prop.name)), prop.normalized(news.get(prop.name))
            if not has_unknowns(new) and old == new:
                continue
            if old is None:
                kind = PropertyDiffKind.ADD_REPLACE if prop.replaces else PropertyDiffKind.ADD
            elif new is None:
                kind = PropertyDiffKind.DELETE_REPLACE if prop.replaces else PropertyDiffKind.DELETE
            else:
                kind = PropertyDiffKind.UPDATE_REPLACE if prop.replaces else PropertyDiffKind.UPDATE
            detailed[prop.name] = PropertyDiff(kind, input_diff=True)
            if prop.replaces:
                replaces.append(prop.name)
        return DiffResult(bool(detailed), replaces, detailed)

    # --- lifecycle (subclasses) -------------------------------------------------------------------
    def create(self, ctx: Context, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError

    def read(self, ctx: Context, resource_id: str, state: dict[str, Any],
             inputs: dict[str, Any]) -> tuple[str | None, dict[str, Any], dict[str, Any]]:
        """(id or None when gone, outputs, inputs as the cluster shows them)."""
        raise NotImplementedError

    def update(self, ctx: Context, resource_id: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def delete(self, ctx: Context, resource_id: str, state: dict[str, Any]) -> None:
        raise NotImplementedError

    # --- helpers --------------------------------------------------------------------------------
    def inputs_of(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {p.name: values.get(p.name) for p in self.inputs() if values.get(p.name) is not None}
