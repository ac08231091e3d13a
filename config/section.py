"""Reading one section of settings (a plain mapping) so that every message names `<key>.<field>`.

The same readers serve two places a section comes from: the stack config, where the key is the
setting (`lxdha:registry`, `lxdha:postgres.haproxy`), and a component's inputs, where it is the
resource's name (`registry`): a mistake names the stack key in one and the property in the other.
"""

from __future__ import annotations

from typing import Any

from cluster.errors import ConfigError
from config.checks import check_known_keys

MAX_TEXT = 512  # longest plain string setting we accept; anything bigger is a paste mistake


class Section:
    """One section's fields, each checked, each failure naming `<key>.<field>`."""

    def __init__(self, raw: dict[str, Any], key: str) -> None:
        self.raw, self.key = raw, key

    def at(self, field: str) -> str:
        return f"{self.key}.{field}"

    def fail(self, field: str, problem: str, fix: str) -> ConfigError:
        return ConfigError(self.at(field), problem, fix)

    def text(self, field: str, default: str | None = None) -> str:
        value = self.raw.get(field, default)
        if value is None or value == "":
            raise self.fail(field, "is not set", f"set {self.at(field)}")
        value = str(value)
        if len(value) > MAX_TEXT:
            raise self.fail(field, f"is {len(value)} characters long (limit {MAX_TEXT})",
                            "check for a pasted file or key")
        return value

    def whole(self, field: str, default: int, low: int, high: int, fix: str) -> int:
        value = self.raw.get(field, default)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise self.fail(field, f"{value!r} is not a whole number from {low} to {high}", fix)
        return value

    def flag(self, field: str, default: bool) -> bool:
        value = self.raw.get(field, default)
        if not isinstance(value, bool):
            raise self.fail(field, f"{value!r} is not true/false", "set true or false")
        return value

    def section(self, field: str, known: tuple[str, ...]) -> dict[str, Any] | None:
        """The mapping under `field` (None when unset), refusing settings it does not know."""
        section = self.raw.get(field)
        if section is None:
            return None
        if not isinstance(section, dict):
            raise self.fail(field, f"{str(section)[:60]!r} is not a mapping", f"write it as {{{', '.join(known)}}}")
        check_known_keys(section, known, self.at(field))
        return section

    def child(self, field: str, known: tuple[str, ...]) -> Section:
        """The section under `field` as a reader of its own (empty when unset)."""
        return Section(self.section(field, known) or {}, self.at(field))


def section_of(raw: Any, key: str, known: tuple[str, ...], fix: str) -> Section:
    """The whole section at `key`: a mapping of known settings only."""
    if not isinstance(raw, dict):
        raise ConfigError(key, "is not a mapping", fix)
    check_known_keys(raw, known, key)
    return Section(raw, key)
