"""The native LXD resource provider (`pulumi-resource-lxd`, package `lxd`): one module per LXD object,
over the shared cluster layer; the `pulumi_lxd` SDK is generated from its schema at set-up."""
