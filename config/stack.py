"""The stack as a whole: which top-level settings exist.

Checked before anything is declared: a misspelt top-level key (`lxdha:regsitry`) would otherwise be
ignored without a word.
"""

from __future__ import annotations

from collections.abc import Iterable

from cluster.errors import ConfigError
from config import lxd
from config.postgres_secrets import SECRET_KEYS as POSTGRES_SECRET_KEYS
from config.registry_secrets import SECRET_KEYS as REGISTRY_SECRET_KEYS

KNOWN_KEYS = {
    "lxd": lxd.KEYS,
    "lxdha": ("image", "mirror", "ssh", "sshPrivateKey", "containers", "registry", *REGISTRY_SECRET_KEYS,
              "postgres", *POSTGRES_SECRET_KEYS, "operations"),
}


def check_stack_keys(keys: Iterable[str]) -> None:
    """Refuses a key in the `lxd` or `lxdha` namespace that nothing reads (other namespaces are not ours)."""
    for key in sorted(keys):
        namespace, _, name = key.partition(":")
        known = KNOWN_KEYS.get(namespace)
        if known is not None and name not in known:
            raise ConfigError(key, "is not a setting of this stack (nothing reads it)",
                              f"check the spelling; {namespace}: settings are {', '.join(known)}")
