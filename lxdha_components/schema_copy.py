"""The engine's cached copy of the served schema, kept in git beside the plugin (schema-lxdha-<version>-.json),
as lxd_provider's is: the engine reuses it while it is newer than the launcher script, which never changes,
so a stale copy would hide a changed input from Pulumi YAML. `python -m lxdha_components.schema_copy`
rewrites it; tests/unit/test_hosted_components.py checks it is current.
"""

from pathlib import Path

from pulumi.provider.experimental.component import ComponentProvider

from lxdha_components import VERSION
from lxdha_components.hosted import HOSTED

NAME = "lxdha"


def served_schema() -> str:
    return ComponentProvider(HOSTED, NAME, version=VERSION).schema or ""


def cli_copy() -> Path:
    return Path(__file__).parent / f"schema-{NAME}-{VERSION}-.json"


if __name__ == "__main__":
    cli_copy().write_text(served_schema())
