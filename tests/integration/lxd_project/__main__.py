"""Instances and profiles declared with `pulumi_lxd` from the stack's config:
`image` (alias or fingerprint), `instances: {name: {target, config, running}}`, `profiles: {name: {config}}`."""

import pulumi
import pulumi_lxd as lxd

config = pulumi.Config()
image = config.require("image")
instances = {
    name: lxd.Instance(name, name=name, image=image, target=spec.get("target"), config=spec.get("config") or {},
                       running=spec.get("running", True),
                       opts=pulumi.ResourceOptions(delete_before_replace=True))
    for name, spec in (config.get_object("instances") or {}).items()
}
for name, spec in (config.get_object("profiles") or {}).items():
    lxd.Profile(name, name=name, config=spec.get("config") or {})
pulumi.export("instances", {name: {"location": i.location, "ipv4": i.ipv4_address} for name, i in instances.items()})
