"""Plain Python values <-> the engine's PropertyValues.

Resources work on plain dicts, lists, strings, numbers and booleans; values the engine does not know
yet (during preview) become UNKNOWN; numbers that are whole come back as ints. Secrets are marked on
the way out by property name, so a secret input never returns in plaintext.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pulumi.provider.experimental.property_value import Computed, PropertyValue
from pulumi.runtime import rpc


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()


def to_plain(value: PropertyValue) -> Any:
    inner = value.value
    if isinstance(inner, Computed) or inner == rpc.UNKNOWN:
        return UNKNOWN
    if isinstance(inner, bool) or inner is None or isinstance(inner, str):
        return inner
    if isinstance(inner, float):
        return int(inner) if inner.is_integer() else inner
    if isinstance(inner, Mapping):
        return {k: to_plain(v) for k, v in inner.items()}
    if isinstance(inner, Sequence):
        return [to_plain(v) for v in inner]
    return inner


def plain_map(values: Mapping[str, PropertyValue]) -> dict[str, Any]:
    return {k: to_plain(v) for k, v in values.items()}


def from_plain(value: Any, secret: bool = False) -> PropertyValue:
    if value is UNKNOWN:
        # the wire form of "not known yet" (the SDK cannot marshal its own Computed value)
        return PropertyValue(rpc.UNKNOWN, is_secret=secret)
    if isinstance(value, bool) or value is None or isinstance(value, str):
        converted: Any = value
    elif isinstance(value, (int, float)):
        converted = float(value)
    elif isinstance(value, Mapping):
        converted = {str(k): from_plain(v) for k, v in value.items()}
    elif isinstance(value, Sequence):
        converted = [from_plain(v) for v in value]
    else:
        raise TypeError(f"cannot send a {type(value).__name__} to the engine")
    return PropertyValue(converted, is_secret=secret)


def marshal(values: Mapping[str, Any], secret_names: Iterable[str] = ()) -> dict[str, PropertyValue]:
    secrets = set(secret_names)
    return {k: from_plain(v, k in secrets) for k, v in values.items() if v is not None}


def known_map(value: Any) -> Mapping[str, Any]:
    """A map's entries, or none while the whole map is not known yet."""
    return value if isinstance(value, Mapping) else {}


def known_list(value: Any) -> list[Any]:
    """A list's items, or none while the whole list is not known yet."""
    return value if isinstance(value, list) else []


def has_unknowns(value: Any) -> bool:
    if value is UNKNOWN:
        return True
    if isinstance(value, Mapping):
        return any(has_unknowns(v) for v in value.values())
    if isinstance(value, list):
        return any(has_unknowns(v) for v in value)
    return False
