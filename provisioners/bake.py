"""Baking a base image: a builder container runs the package steps once, its identity is cleared, and
it is published as an image that carries its plan's hash (`user.lxdha.bake`), so the same plan is
never baked twice and a bake cut short is continued rather than repeated: every step re-reads first.
"""

from __future__ import annotations

import logging
from typing import Any

import pylxd

from cluster.facts import MANAGED_KEY, OWNER_KEY, read_instances
from cluster.images import delete_if_unused, read_aliases, read_images
from cluster.operations import post_and_wait
from cluster.retry import with_retries
from cluster.steps import ensure_created, ensure_deleted, ensure_running, ensure_stopped, wait_for_ipv4
from provisioners.bootstrap import run_plan
from provisioners.bootstrap_plan import Step

log = logging.getLogger(__name__)

BAKE_PROPERTY = "user.lxdha.bake"  # the plan's hash, on every image we bake
OWNER_PROPERTY = "user.lxdha.stack"  # the stack that baked it
PUBLISH_TIMEOUT_S = 900


# A baked image is stored as a plain tarball: on `dir` storage every create unpacks the image, and during a
# `make test` gzip alone took 16 of 120 CPU-seconds a minute on the lab while containers were created (tar 23).
# Measured on LXD 5.0.2 (dir pool, the Debian image): create 1.1-1.2 s instead of 3.0-3.8 s, publish 2.1 s
# instead of 13.8 s, for 171 MB instead of 64 MB on each member that holds it.
PUBLISH_COMPRESSION = "none"


def builder_name(plan_hash: str) -> str:
    return f"lxdha-bake-{plan_hash[:12]}"


def find_baked(client: pylxd.Client, plan_hash: str) -> str | None:
    """The fingerprint of an image already baked from this plan, if there is one."""
    images = read_images(client)
    return next((i["fingerprint"] for i in images if (i.get("properties") or {}).get(BAKE_PROPERTY) == plan_hash), None)


def publish(client: pylxd.Client, builder: str, plan_hash: str, owner: str, description: str) -> str:
    """Publishes the stopped builder as an image; a retry first looks for the image it may have made."""

    def attempt() -> str:
        existing = find_baked(client, plan_hash)
        if existing:
            return existing
        body = {"source": {"type": "instance", "name": builder}, "public": False,
                "compression_algorithm": PUBLISH_COMPRESSION,
                "properties": {BAKE_PROPERTY: plan_hash, OWNER_PROPERTY: owner, "description": description}}
        metadata = post_and_wait(client, client.api.images, body, PUBLISH_TIMEOUT_S, f"publish {builder}")
        fingerprint = metadata.get("fingerprint")
        if not fingerprint:
            raise RuntimeError(f"publishing {builder} finished without a fingerprint")
        return fingerprint

    return with_retries(attempt, f"publish {builder}")


def bake(client: pylxd.Client, source_alias: str, steps: list[Step], plan_hash: str, owner: str,
         description: str) -> tuple[str, bool]:
    """(fingerprint, baked now?): the image for this plan, baking it if it does not exist yet."""
    existing = find_baked(client, plan_hash)
    if existing:
        return existing, False
    builder = builder_name(plan_hash)
    ensure_deleted(client, builder)  # a builder left by an interrupted bake starts over from the image
    body: dict[str, Any] = {"name": builder, "type": "container", "profiles": ["default"],
                            "source": {"type": "image", "alias": source_alias},
                            "config": {MANAGED_KEY: "true", OWNER_KEY: owner}}
    log.info("baking %s in %s", description, builder)
    ensure_created(client, body, None, owner)
    try:
        ensure_running(client, builder)
        wait_for_ipv4(client, builder)  # the package steps reach the mirror
        run_plan(client, builder, steps)
        ensure_stopped(client, builder)
        fingerprint = publish(client, builder, plan_hash, owner, description)
    finally:
        ensure_deleted(client, builder, owner)
    return fingerprint, True


def sweep(client: pylxd.Client, owner: str) -> list[str]:
    """Deletes the images `owner` baked that no alias points at and no instance was made from."""
    images = read_images(client)
    aliased = {a["target"] for a in read_aliases(client)}
    used = {i.config.get("volatile.base_image") for i in read_instances(client)}
    removed = []
    for image in images:
        properties = image.get("properties") or {}
        fingerprint = image["fingerprint"]
        if properties.get(OWNER_PROPERTY) == owner and BAKE_PROPERTY in properties \
                and fingerprint not in aliased | used and delete_if_unused(client, fingerprint):
            removed.append(fingerprint)
    return removed
