"""How a resource's properties are declared once and used three ways: the schema (and so the
generated SDKs), `check` (defaults, required, types) and `diff` (update vs replace per property)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cluster.connection import DEFAULT_PROJECT
from lxd_provider.values import has_unknowns

STRING: dict[str, Any] = {"type": "string"}
BOOLEAN: dict[str, Any] = {"type": "boolean"}
INTEGER: dict[str, Any] = {"type": "integer"}
STRING_LIST: dict[str, Any] = {"type": "array", "items": {"type": "string"}}
STRING_MAP: dict[str, Any] = {"type": "object", "additionalProperties": {"type": "string"}}


def ref(token: str) -> dict[str, Any]:
    return {"$ref": f"#/types/{token}"}


def list_of(schema: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": dict(schema)}


Normalizer = Callable[[Any], Any]


@dataclass(frozen=True)
class Prop:
    """One property. `input=False` marks an output only; `replaces`: changing it creates a new object."""

    name: str
    schema: Mapping[str, Any]
    description: str
    input: bool = True
    required: bool = False
    replaces: bool = False
    secret: bool = False
    default: Any = None
    normalize: Normalizer | None = field(default=None, compare=False)

    def normalized(self, value: Any) -> Any:
        if value is None and self.default is not None:
            value = self.default
        # a value not known yet (preview) is a change anyway: only a known one is put in its normal form
        return self.normalize(value) if self.normalize and value is not None and not has_unknowns(value) else value

    def schema_entry(self) -> dict[str, Any]:
        entry = {**self.schema, "description": self.description}
        if self.secret:
            entry["secret"] = True
        if self.replaces:
            entry["willReplaceOnChanges"] = True
        if self.default is not None and not isinstance(self.default, (list, dict)):
            entry["default"] = self.default
        return entry


@dataclass(frozen=True)
class TypeSpec:
    """A nested object type of the schema (e.g. a device: name, type, properties)."""

    token: str
    description: str
    props: tuple[Prop, ...]

    def schema(self) -> dict[str, Any]:
        """No empty `required` list: the engine drops it from the schema it serves, and the copies must agree."""
        required = [p.name for p in self.props if p.required]
        return {"type": "object", "description": self.description,
                "properties": {p.name: p.schema_entry() for p in self.props},
                **({"required": required} if required else {})}


INSTANCE = Prop("instance", STRING, "Name of the instance it belongs to.", required=True, replaces=True)
PROJECT = Prop("project", STRING, "LXD project: every call goes there (`?project=`).", default=DEFAULT_PROJECT,
               replaces=True)


def sorted_map(value: Mapping[str, Any]) -> dict[str, Any]:
    return {k: value[k] for k in sorted(value)}


def devices_by_name(value: Any) -> list[dict[str, Any]]:
    """Devices compare as a set keyed by name, with their properties as plain strings."""
    return sorted(({"name": d.get("name"), "type": d.get("type"), "properties": sorted_map(d.get("properties") or {})}
                   for d in value or []), key=lambda d: str(d["name"]))


def device_type(token: str, what: str) -> TypeSpec:
    return TypeSpec(token, f"A device of the {what}, as LXD's `devices` map entry <name>: {{type, ...}}.", (
        Prop("name", STRING, "Device name (e.g. eth0, root).", required=True),
        Prop("type", STRING, "Device type (nic, disk, proxy, unix-char, ...).", required=True),
        Prop("properties", STRING_MAP, "Device properties (e.g. nictype, parent, path, pool).", default={}),
    ))


def devices_to_lxd(devices: list[dict[str, Any]] | None) -> dict[str, dict[str, str]]:
    return {d["name"]: {"type": d["type"], **(d.get("properties") or {})} for d in devices or []}


def devices_from_lxd(devices: Mapping[str, Mapping[str, str]] | None) -> list[dict[str, Any]]:
    return devices_by_name([{"name": name, "type": spec.get("type"),
                             "properties": {k: v for k, v in spec.items() if k != "type"}}
                            for name, spec in (devices or {}).items()])
