"""The schema document the SDK is generated from: every resource registered under upstream's token,
each type it refers to declared, a `project` on every object that lives in a project, and the
plugin serving the same document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pulumi.provider.experimental.provider import GetSchemaRequest

import lxd_provider
from lxd_provider.schema import RESOURCES, VERSION, cli_copy, schema
from lxd_provider.server import LxdProvider
from tests.support.provider import engine_call

UPSTREAM_TOKENS = {
    "lxd:index/instance:Instance", "lxd:index/cachedImage:CachedImage", "lxd:index/profile:Profile",
    "lxd:index/network:Network", "lxd:index/storagePool:StoragePool", "lxd:index/volume:Volume",
    "lxd:index/project:Project", "lxd:index/snapshot:Snapshot", "lxd:index/instanceFile:InstanceFile",
    "lxd:index/volumeCopy:VolumeCopy", "lxd:index/networkAcl:NetworkAcl",
}


def _refs(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = {value["$ref"].removeprefix("#/types/")} if "$ref" in value else set()
        return found.union(*(_refs(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_refs(v) for v in value))
    return set()


def test_every_resource_is_registered_under_upstreams_token() -> None:
    document = schema()
    assert set(document["resources"]) == UPSTREAM_TOKENS
    assert {r.token for r in RESOURCES} == UPSTREAM_TOKENS


def test_every_referenced_type_is_declared_and_every_required_input_exists() -> None:
    document = schema()
    assert _refs(document["resources"]) | _refs(document["types"]) <= set(document["types"])
    for token, resource in document["resources"].items():
        assert set(resource["requiredInputs"]) <= set(resource["inputProperties"]), token
        assert set(resource["required"]) <= set(resource["properties"]), token
        assert "Import id:" in resource["description"], token


def test_every_object_in_a_project_has_a_project_that_replaces_it() -> None:
    for token, resource in schema()["resources"].items():
        if token == "lxd:index/project:Project":
            assert "project" not in resource["inputProperties"]
            continue
        project = resource["inputProperties"]["project"]
        assert project["default"] == "default" and project["willReplaceOnChanges"], token


def test_the_plugin_serves_the_same_document() -> None:
    served = engine_call(LxdProvider().get_schema(GetSchemaRequest(0, None, None)))
    assert json.loads(served.schema) == schema()


def test_the_schema_copy_the_cli_caches_beside_the_plugin_is_current() -> None:
    """The CLI keeps the served schema as schema-lxd-<version>-.json and reuses it for that version: a stale
    copy would hide new resources from `pulumi import` and Pulumi YAML."""
    cached = Path(lxd_provider.__file__).parent / f"schema-lxd-{VERSION}-.json"
    assert cli_copy() == cached
    assert cached.read_text() == json.dumps(schema()), "rewrite it: python -m lxd_provider.schema --cli-copy"
