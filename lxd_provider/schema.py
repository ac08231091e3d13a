"""The provider's Pulumi schema (package `lxd`), built from the resources' declared properties.

`python -m lxd_provider.schema` prints it; set-up generates the `pulumi_lxd` SDK from that output,
and the plugin serves the same document from GetSchema, so the two never disagree.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from config.lxd import SECRET_KEYS
from lxd_provider.base import Resource
from lxd_provider.cached_image import CachedImage
from lxd_provider.functions import FUNCTIONS
from lxd_provider.instance import Instance
from lxd_provider.instance_file import InstanceFile
from lxd_provider.network import Network
from lxd_provider.network_acl import NetworkAcl
from lxd_provider.profile import Profile
from lxd_provider.project import Project
from lxd_provider.snapshot import Snapshot
from lxd_provider.storage_pool import StoragePool
from lxd_provider.volume import Volume
from lxd_provider.volume_copy import VolumeCopy

PACKAGE = "lxd"
VERSION = "0.1.0"
RESOURCES: tuple[type[Resource], ...] = (Instance, CachedImage, Profile, Network, StoragePool, Volume, Project,
                                        Snapshot, InstanceFile, VolumeCopy, NetworkAcl)

CONFIG_DESCRIPTIONS = {
    "remote": "https://<load balancer>:8443 in front of every cluster member.",
    "serverFingerprint": "SHA-256 fingerprint of the cluster certificate (pinned; never trusted on first use).",
    "serverCertFile": "PEM file of the cluster certificate, whose fingerprint is pinned.",
    "clientCert": "Client certificate (PEM) the cluster trusts.",
    "clientCertFile": "File holding the client certificate.",
    "clientKey": "Private key of the client certificate.",
    "clientKeyFile": "File holding the client key.",
    "trustPassword": "Trust password or token, used once if the client certificate is not trusted yet.",
    "trustPasswordFile": "File holding the trust password or token.",
    "timeoutS": "Per-request timeout in seconds (default 60).",
}


def by_token() -> dict[str, type[Resource]]:
    return {resource.token: resource for resource in RESOURCES}


def schema() -> dict[str, Any]:
    variables = {key: {"type": "number" if key == "timeoutS" else "string", "description": text,
                       **({"secret": True} if key in SECRET_KEYS else {})}
                 for key, text in CONFIG_DESCRIPTIONS.items()}
    return {
        "name": PACKAGE,
        "displayName": "LXD (lxdha)",
        "version": VERSION,
        "description": "LXD cluster objects (instances, cached images, profiles, networks, storage pools, volumes, "
                       "projects, snapshots, instance files, volume copies, network ACLs) "
                       "over a pinned connection, with idempotent, reconciling operations, and lookups of what "
                       "exists (getInstance, getImage, getProfile, getNetwork, getStoragePool, getProject, getInfo).",
        "keywords": ["lxd", "containers", "category/infrastructure"],
        "license": "Apache-2.0",
        "meta": {"moduleFormat": "(.*)(?:/[^/]*)"},
        "config": {"variables": variables},
        "provider": {"description": "The connection to one LXD cluster.", "inputProperties": variables,
                     "properties": variables},
        "types": {spec.token: spec.schema() for owner in (*RESOURCES, *FUNCTIONS) for spec in owner.types},
        "resources": {resource.token: resource.schema() for resource in RESOURCES},
        "functions": {function.token: function.schema() for function in FUNCTIONS},
        "language": {"python": {"packageName": "pulumi_lxd", "respectSchemaVersion": True,
                                "requires": {"pulumi": ">=3.0.0,<4.0.0"}}},
    }


def cli_copy() -> Path:
    """Where the CLI and the YAML host cache the served schema, next to the plugin (schema-lxd-<version>-.json)."""
    return Path(__file__).parent / f"schema-{PACKAGE}-{VERSION}-.json"


def main() -> None:
    """Prints the schema; with --cli-copy, writes the CLI's cached copy as the CLI writes it instead."""
    if sys.argv[1:] == ["--cli-copy"]:
        cli_copy().write_text(json.dumps(schema()))
        return
    json.dump(schema(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
