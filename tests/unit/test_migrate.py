"""The migration hands over exactly the dynamic instance/image/profile entries and every reference to them."""

from __future__ import annotations

import base64
import json

from ops.migrate import SECRET_SIG, changed_steps, hand_over, harmful, legacy_urns


def dynamic(urn: str, module: str, deps: list[str] | None = None, shown: bool = False) -> dict:
    """A dynamic resource's state entry; its `__provider` is a secret: encrypted in a plain export,
    JSON-encoded `plaintext` in an export with --show-secrets."""
    pickled = base64.b64encode(b"\x80\x04dill" + f"provisioners.{module}\nProvider".encode()).decode()
    secret = {SECRET_SIG: "1b47061264138c4ac30d75fd1eb44270",
              **({"plaintext": json.dumps(pickled)} if shown else {"ciphertext": "v1:abc"})}
    return {"urn": urn, "type": "pulumi-python:dynamic:Resource", "inputs": {"__provider": secret},
            "outputs": {"__provider": secret}, "dependencies": deps or [],
            "propertyDependencies": {"instance": deps or []}}


def test_only_cluster_objects_are_handed_over_and_their_references_go() -> None:
    prefix = "urn:pulumi:lab::lxdha::lxdha:index"
    instance = f"{prefix}:BalancedContainer$pulumi-python:dynamic:Resource::registry-0-instance"
    image = f"{prefix}:AlpineImageAlias$pulumi-python:dynamic:Resource::base-image-image"
    bootstrap = f"{prefix}:BalancedContainer$pulumi-python:dynamic:Resource::registry-0-bootstrap"

    def deployment(shown: bool) -> dict:
        return {"resources": [
            {"urn": "urn:pulumi:lab::lxdha::pulumi:pulumi:Stack::lxdha-lab", "type": "pulumi:pulumi:Stack"},
            dynamic(image, "image_provider", shown=shown),
            dynamic(instance, "instance_provider", [image], shown=shown),
            dynamic(bootstrap, "bootstrap_provider", [instance], shown=shown),
        ]}

    assert legacy_urns(deployment(shown=False)["resources"]) == []  # encrypted: nothing to read
    legacy = legacy_urns(deployment(shown=True)["resources"])
    assert legacy == [image, instance]
    encrypted = deployment(shown=False)
    assert hand_over(encrypted, legacy) == sorted([image, instance])
    remaining = {r["urn"]: r for r in encrypted["resources"]}
    assert set(remaining) == {"urn:pulumi:lab::lxdha::pulumi:pulumi:Stack::lxdha-lab", bootstrap}
    assert remaining[bootstrap]["dependencies"] == [] and remaining[bootstrap]["propertyDependencies"] == \
        {"instance": []}
    assert remaining[bootstrap]["outputs"]["__provider"]["ciphertext"] == "v1:abc"  # re-imported still encrypted
    assert hand_over(encrypted, legacy) == []


def _finished(op: str, type_: str, name: str) -> dict:
    return {"resOutputsEvent": {"metadata": {"op": op, "type": type_,
                                             "urn": f"urn:pulumi:s::lxdha::x${type_}::{name}"}}}


def test_the_migrating_up_lists_what_changed_and_flags_replacements_and_container_deletes() -> None:
    instance, placement = "lxd:index/instance:Instance", "pulumi-python:dynamic:Resource"
    events = [_finished("refresh", placement, "registry-0-bootstrap"), _finished("same", placement, "http-secret"),
              _finished("create", placement, "registry-0-placement"),
              _finished("create", instance, "registry-0-instance"),
              {"resourcePreEvent": {"metadata": {"op": "create", "type": instance, "urn": "u::pending"}}},
              {"summaryEvent": {"resourceChanges": {"create": 2, "same": 3}}}]
    steps = changed_steps(events)
    assert steps == [{"op": "create", "type": placement, "name": "registry-0-placement"},
                     {"op": "create", "type": instance, "name": "registry-0-instance"}]
    assert harmful(steps) == []
    bad = [{"op": "delete", "type": instance, "name": "registry-1-instance"},
           {"op": "create-replacement", "type": placement, "name": "registry-1-bootstrap"},
           {"op": "delete", "type": placement, "name": "registry-1-placement"}]
    assert harmful(bad) == bad[:2]
