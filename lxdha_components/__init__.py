"""The lxdha components served to any Pulumi language (plugin `pulumi-resource-lxdha`, see __main__.py)."""

VERSION = "0.1.0"
