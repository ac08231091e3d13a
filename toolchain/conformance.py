"""The OCI distribution-spec conformance suite (the pinned build from toolchain.go_tools) run against one
registry: the spec version fixed, every area turned off named with the reason, the suite's own
figures parsed back, and anything else than a pass reported as a problem.

The suite is configured by a YAML file written 0600 (it holds the registry login; nothing goes on a
command line) and trusts only the CA file it is given.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SPEC_VERSION = "1.1"
RUN_TIMEOUT_S = 900


@dataclass(frozen=True)
class Disabled:
    """An area of the suite turned off: the config switch, the areas the suite reports, and why."""

    switch: str          # dotted path in the suite's config, set to false
    areas: tuple[str, ...]
    reason: str


DISABLED = (
    Disabled("apis.referrer", ("Referrers",),
             "distribution v3 does not implement the referrers API (GET /v2/<name>/referrers/<digest>)"),
    Disabled("data.subject", ("Artifacts with Subject",),
             "manifests with a subject are stored, but without the referrers API the registry neither answers "
             "OCI-Subject nor lists them as referrers"),
    Disabled("data.subjectMissing", ("Missing Subject",), "same: needs the referrers API"),
    Disabled("data.subjectList", ("Index with Subject",), "same: needs the referrers API"),
    Disabled("data.sha512", ("Blobs sha512", "Digest Algorithm sha512", "Tag Param sha512"),
             "distribution v3 computes and accepts sha256 digests only"),
    Disabled("data.nondistributable", ("Non-distributable Layers",),
             "non-distributable layers are deprecated by image-spec 1.1; the registry refuses layers that point at "
             "external URLs (its URL allow-list is empty by design) and answers 500"),
    Disabled("data.sparse", ("Sparse Manifests",),
             "the registry refuses an index whose manifests were not pushed (index completeness validation), so "
             "clients never pull an index with missing platforms; off in the spec 1.1 profile as well"),
    Disabled("apis.manifests.tagParam", ("Manifest put with tag params", "Tag Param"),
             "tags as parameters of a push by digest are a 1.1+dev addition, not spec 1.1; distribution v3 "
             "ignores them"),
)
# stricter than the spec 1.1 profile: the registry does these, so the suite checks them
ENABLED_BEYOND_PROFILE = ("apis.blobs.uploadCancel", "apis.blobs.digestHeader", "apis.manifests.digestHeader")
# leaf tests the suite may skip because the spec lets a registry answer with a fallback
ALLOWED_SKIPS = {
    "blob-post-only": "no content in the POST: the registry opens an upload (202) and the client PUTs, as the "
                      "spec allows",
    "blob-mount-anonymous": "a mount without `from` opens an upload (202) instead, as the spec allows",
}
COUNT_NAMES = ("Pass", "FAIL", "Error", "Skip", "Disabled", "Total")


@dataclass
class SuiteResult:
    counts: dict[str, int]
    areas: dict[str, str]                    # API or data area -> Pass/FAIL/Skip/Disabled
    skipped: list[tuple[str, str]]           # leaf test, the suite's message
    failed: list[tuple[str, str]]
    seconds: float
    output: str = field(repr=False, default="")

    def problems(self) -> list[str]:
        """Everything that is not a pass, a declared disabled area or an allowed fallback."""
        found = [f"{name}: {message}" for name, message in self.failed]
        if self.counts.get("FAIL", 0) or self.counts.get("Error", 0):
            found.append(f"suite counts: {self.counts}")
        declared = {area for item in DISABLED for area in item.areas}
        for area, status in sorted(self.areas.items()):
            if status == "Disabled" and area not in declared:
                found.append(f"{area} is disabled without a declared reason")
            elif status in ("FAIL", "Error"):
                found.append(f"{area}: {status}")
        found += [f"{name} skipped: {message}" for name, message in self.skipped
                  if name.rsplit("/", 1)[-1] not in ALLOWED_SKIPS]
        if not self.counts.get("Pass"):
            found.append("nothing passed")
        return found

    def summary(self) -> str:
        counts = ", ".join(f"{name.lower()} {self.counts.get(name, 0)}" for name in COUNT_NAMES)
        lines = [f"OCI conformance (spec {SPEC_VERSION}) in {self.seconds:.0f}s: {counts}", "disabled:"]
        lines += [f"  {item.switch} ({', '.join(item.areas)}): {item.reason}" for item in DISABLED]
        lines.append("skipped (spec-allowed fallbacks):")
        lines += [f"  {name}: {ALLOWED_SKIPS.get(name.rsplit('/', 1)[-1], message)}" for name, message in self.skipped]
        return "\n".join(lines)


def _set(tree: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for key in parents:
        tree = tree.setdefault(key, {})
    tree[last] = value


def suite_config(registry: str, user: str, password: str, results_dir: Path,
                 repo_prefix: str = "lxdha-conformance") -> dict[str, Any]:
    config: dict[str, Any] = {
        "version": SPEC_VERSION, "registry": registry, "tls": "enabled",
        "repo1": f"{repo_prefix}/repo1", "repo2": f"{repo_prefix}/repo2",
        "username": user, "password": password, "resultsDir": str(results_dir), "logging": "warn",
    }
    for item in DISABLED:
        _set(config, item.switch, False)
    for switch in ENABLED_BEYOND_PROFILE:
        _set(config, switch, True)
    return config


def run_suite(binary: Path, registry: str, user: str, password: str, ca_file: Path, work_dir: Path) -> SuiteResult:
    """Runs the suite once against `registry` (host:port, TLS verified against `ca_file`)."""
    results_dir = work_dir / "results"
    config_path = work_dir / "oci-conformance.yaml"
    fd = os.open(config_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        yaml.safe_dump(suite_config(registry, user, password, results_dir), handle)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work_dir),
           "OCI_CONFIGURATION": str(config_path), "SSL_CERT_FILE": str(ca_file)}
    started = time.monotonic()
    completed = subprocess.run([str(binary)], cwd=work_dir, env=env, capture_output=True, text=True,
                               timeout=RUN_TIMEOUT_S, check=False)
    return parse(completed.stdout + completed.stderr, results_dir, time.monotonic() - started)


def parse(output: str, results_dir: Path, seconds: float) -> SuiteResult:
    counts = {name: int(number) for name, number in
              re.findall(r"^\s+(Pass|FAIL|Error|Skip|Disabled|Total)\.*:\s+(\d+)$", output, re.MULTILINE)}
    areas: dict[str, str] = {}
    skipped: list[tuple[str, str]] = []
    failed: list[tuple[str, str]] = []
    results_file = results_dir / "results.yaml"
    if results_file.exists():
        document = yaml.safe_load(results_file.read_text()) or {}
        for section in ("apis", "data"):
            areas.update({str(name): str(status) for name, status in (document.get(section) or {}).items()})
    junit = results_dir / "junit.xml"
    if junit.exists():
        for case in ElementTree.parse(junit).getroot().iter("testcase"):
            message = (case.findtext("system-out") or "").strip()
            if case.get("status") == "skipped" and "disabled in the configuration" not in (
                    case.findtext("system-err") or ""):
                skipped.append((case.get("name", "?"), message))
            elif case.get("status") in ("failure", "error"):
                failed.append((case.get("name", "?"), message[:500]))
    if not counts:
        failed.append(("suite", f"no result figures in its output: {output.strip()[-1500:]}"))
    return SuiteResult(counts, areas, skipped, failed, seconds, output)
