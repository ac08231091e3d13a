"""The stack as a whole: which top-level settings exist, and what two services' settings must not share.

Checked before anything is declared, after each section's own reader: a misspelt top-level key
(`lxdha:regsitry`) would otherwise be ignored without a word, and two services in one group or with
colliding names would only show up as a confused cluster.
"""

from __future__ import annotations

from collections.abc import Iterable

from cluster.errors import ConfigError
from config import lxd
from config.containers import KEY as CONTAINERS_KEY
from config.containers import ContainersSettings
from config.registry import KEY as REGISTRY_KEY
from config.registry import RegistrySettings
from config.registry_secrets import SECRET_KEYS as REGISTRY_SECRET_KEYS

KNOWN_KEYS = {
    "lxd": lxd.KEYS,
    "lxdha": ("image", "mirror", "ssh", "sshPrivateKey", "containers", "registry", *REGISTRY_SECRET_KEYS,
              "operations"),
}


def check_stack_keys(keys: Iterable[str]) -> None:
    """Refuses a key in the `lxd` or `lxdha` namespace that nothing reads (other namespaces are not ours)."""
    for key in sorted(keys):
        namespace, _, name = key.partition(":")
        known = KNOWN_KEYS.get(namespace)
        if known is not None and name not in known:
            raise ConfigError(key, "is not a setting of this stack (nothing reads it)",
                              f"check the spelling; {namespace}: settings are {', '.join(known)}")


def check_services_apart(containers: ContainersSettings, registry: RegistrySettings | None) -> None:
    """Plain containers and the registry's replicas share the cluster: neither names nor groups may meet."""
    if registry is None or not containers.count:
        return
    if set(containers.names()) & set(registry.names()):
        raise ConfigError(f"{REGISTRY_KEY}.prefix", f"containers {registry.prefix}-N would collide with "
                          f"{CONTAINERS_KEY} names", "give the registry and the plain containers different prefixes")
    if containers.group == registry.group:
        raise ConfigError(f"{CONTAINERS_KEY}.group", f"{containers.group!r} is also the registry's anti-affinity "
                          f"group ({REGISTRY_KEY}.group, by default its prefix): placement and the operations "
                          "commands would count the plain containers as replicas",
                          "give the plain containers a group of their own")
