"""Smoke stack: one trivial dynamic resource defined here (pickled by value) and one LXD profile
declared with the project's own provider (`pulumi_lxd`, plugin `pulumi-resource-lxd`)."""

import pulumi
import pulumi_lxd as lxd
from pulumi.dynamic import CreateResult, ResourceProvider


class StampProvider(ResourceProvider):
    """Echoes its input: proves the dynamic-provider plugin and dill round trip work."""

    def create(self, props):
        return CreateResult(f"stamp-{props['text']}", {"text": props["text"], "length": len(props["text"])})


class Stamp(pulumi.dynamic.Resource):
    text: pulumi.Output[str]
    length: pulumi.Output[int]

    def __init__(self, name, text, opts=None):
        super().__init__(StampProvider(), name, {"text": text, "length": None}, opts)


config = pulumi.Config()
stamp = Stamp("stamp", config.get("text") or "hello")
profile = lxd.Profile(
    "profile",
    name=config.require("profileName"),
    config={"limits.memory": config.get("memoryLimit") or "256MiB"},
    description="lxdha smoke test",
)
pulumi.export("stamp_length", stamp.length)
pulumi.export("profile_name", profile.name)
