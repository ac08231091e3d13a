"""The migration hands over exactly the dynamic instance/image/profile entries and every reference to them."""

from __future__ import annotations

import base64

from ops.migrate import hand_over


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
