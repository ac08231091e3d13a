"""The migration hands over exactly the dynamic instance/image/profile entries and every reference to them."""

from __future__ import annotations

import base64

from ops.migrate import changed_steps, hand_over, harmful


def dynamic(urn: str, module: str, deps: list[str] | None = None) -> dict:
    pickled = base64.b64encode(b"\x80\x04dill" + f"provisioners.{module}\nProvider".encode()).decode()
    return {"urn": urn, "type": "pulumi-python:dynamic:Resource", "outputs": {"__provider": pickled},
            "dependencies": deps or [], "propertyDependencies": {"instance": deps or []}}


def test_only_cluster_objects_are_handed_over_and_their_references_go() -> None:
    prefix = "urn:pulumi:lab::lxdha::lxdha:index"
    instance = f"{prefix}:BalancedContainer$pulumi-python:dynamic:Resource::registry-0-instance"
    image = f"{prefix}:AlpineImageAlias$pulumi-python:dynamic:Resource::base-image-image"
    bootstrap = f"{prefix}:BalancedContainer$pulumi-python:dynamic:Resource::registry-0-bootstrap"
    deployment = {"resources": [
        {"urn": "urn:pulumi:lab::lxdha::pulumi:pulumi:Stack::lxdha-lab", "type": "pulumi:pulumi:Stack"},
        dynamic(image, "image_provider"),
        dynamic(instance, "instance_provider", [image]),
        dynamic(bootstrap, "bootstrap_provider", [instance]),
    ]}
    assert hand_over(deployment) == sorted([image, instance])
    remaining = {r["urn"]: r for r in deployment["resources"]}
    assert set(remaining) == {"urn:pulumi:lab::lxdha::pulumi:pulumi:Stack::lxdha-lab", bootstrap}
    assert remaining[bootstrap]["dependencies"] == [] and remaining[bootstrap]["propertyDependencies"] == \
        {"instance": []}
    assert hand_over(deployment) == []


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
