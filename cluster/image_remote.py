"""Does the image remote answer, and does it have the source image? Asked at preview (check), so an
unknown remote or image fails before anything is created instead of half-way through an up."""

from __future__ import annotations

import os
import tempfile

import requests

from cluster.images import ImageSource

TIMEOUT_S = 15


def _get(url: str, certificate: str) -> requests.Response:
    """GET with the remote's certificate pinned when given (else the system CAs)."""
    session = requests.Session()
    session.trust_env = False
    if not certificate:
        return session.get(url, timeout=TIMEOUT_S)
    with tempfile.NamedTemporaryFile("w", suffix=".crt", delete=False) as handle:
        handle.write(certificate)
    try:
        return session.get(url, timeout=TIMEOUT_S, verify=handle.name)
    finally:
        os.unlink(handle.name)


def simplestreams_product(source: str, arch: str = "amd64") -> str:
    """`alpine/3.11` -> `alpine:3.11:amd64:default`, the product name in a simplestreams index."""
    parts = source.split("/")
    variant = parts[2] if len(parts) > 2 else "default"
    return f"{parts[0]}:{parts[1] if len(parts) > 1 else ''}:{arch}:{variant}"


def remote_image_problem(source: ImageSource) -> tuple[str, str] | None:
    """(which part is wrong: "image" | "server" | "certificate", why) when the image cannot be copied."""
    remote, image = source.server.rstrip("/"), source.image
    try:
        if source.protocol == "lxd":
            response = _get(f"{remote}/1.0/images/aliases/{image}", source.certificate)
            if response.status_code == 404:
                return "image", f"image {image!r} is not on the remote {remote} (or not public)"
            response.raise_for_status()
            return None
        response = _get(f"{remote}/streams/v1/index.json", source.certificate)
        response.raise_for_status()
        products = {p for index in response.json().get("index", {}).values() for p in index.get("products", [])}
        if simplestreams_product(image) not in products:
            return "image", f"image {image!r} is not in {remote}'s simplestreams index"
        return None
    except requests.exceptions.SSLError as error:
        return "certificate", (f"the image remote {remote} does not present the pinned certificate "
                               f"({error.__class__.__name__})")
    except (requests.RequestException, ValueError) as error:
        return "server", f"cannot reach the image remote {remote}: {error.__class__.__name__}"
