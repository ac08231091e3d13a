"""Pulumi ComponentResources: what the stack declares."""
