"""Operator commands around the stack: running the Pulumi CLI offline, demo, maintenance."""
