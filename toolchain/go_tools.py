"""Pinned Go programs the project builds from source: the registry server it ships and the OCI
conformance suite it tests that server with.

Each is built from a wrapper module under `toolchain/go/<name>/` whose go.mod pins the program and the
Go toolchain and whose go.sum verifies every module, so a build needs only the module proxy (never
the checksum database) and gives the same bytes on every machine. A build is cached by the hash of
those files and the flags; a second call only returns the path.

    python -m toolchain.go_tools            # build what is missing (make setup), print each binary
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD_TIMEOUT_S = 3600


class GoBuildError(RuntimeError):
    """A pinned build could not run or failed; the message says why and what to do."""


@dataclass(frozen=True)
class GoTool:
    """One pinned program: `toolchain/go/<name>/` holds its wrapper module."""

    name: str
    package: str         # the main package to build
    module: str          # the module whose pinned version names the build
    version_symbol: str  # set to that version at link time (-X)
    target: tuple[str, str] | None = None  # (GOOS, GOARCH) for a shipped binary; None = this machine

    @property
    def wrapper(self) -> Path:
        return ROOT / "toolchain" / "go" / self.name

    def _go_mod(self) -> str:
        return (self.wrapper / "go.mod").read_text()

    @property
    def version(self) -> str:
        found = re.search(rf"^\s*(?:require\s+)?{re.escape(self.module)} (v\S+)", self._go_mod(), re.MULTILINE)
        if not found:
            raise GoBuildError(f"{self.wrapper / 'go.mod'} does not require {self.module}; fix: cd {self.wrapper} "
                               f"&& go get -tool {self.package}@<version>")
        return found.group(1)

    @property
    def go_toolchain(self) -> str:
        found = re.search(r"^toolchain (go\S+)", self._go_mod(), re.MULTILINE)
        if not found:
            raise GoBuildError(f"{self.wrapper / 'go.mod'} has no `toolchain goX.Y.Z` line: the build would depend "
                               "on whichever Go is installed")
        return found.group(1)

    def ldflags(self) -> str:
        return f"-s -w -X {self.version_symbol}={self.version}"

    def cache_key(self) -> str:
        digest = hashlib.sha256()
        for part in ((self.wrapper / "go.mod").read_bytes(), (self.wrapper / "go.sum").read_bytes(),
                     self.ldflags().encode(), repr(self.target).encode()):
            digest.update(hashlib.sha256(part).digest())
        return digest.hexdigest()[:12]

    def binary(self, cache: Path) -> Path:
        return cache / "go" / f"{self.name}-{self.version}-{self.cache_key()}" / self.name


REGISTRY = GoTool("registry", "github.com/distribution/distribution/v3/cmd/registry",
                  "github.com/distribution/distribution/v3", "github.com/distribution/distribution/v3/version.version",
                  target=("linux", "amd64"))
CONFORMANCE = GoTool("conformance", "github.com/opencontainers/distribution-spec/conformance",
                     "github.com/opencontainers/distribution-spec/conformance", "main.Version")
TOOLS = (REGISTRY, CONFORMANCE)


def default_cache() -> Path:
    return Path(os.environ.get("LXDHA_CACHE", Path.home() / ".cache" / "lxdha"))


def go_binary() -> str:
    found = os.environ.get("LAB_GO") or shutil.which("go") or (
        "/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)
    if not found:
        raise GoBuildError("no Go toolchain found (set LAB_GO or put `go` on PATH); it is needed once per pinned "
                           "version")
    return found


def build_env(tool: GoTool) -> dict[str, str]:
    """Exactly the pinned toolchain (downloaded from the module proxy if this one differs), go.sum
    as the only checksum source, no cgo, no VCS stamping: the inputs of a reproducible build."""
    env = {**os.environ, "CGO_ENABLED": "0", "GOTOOLCHAIN": tool.go_toolchain,
           "GOFLAGS": "-mod=readonly -buildvcs=false", "GOAMD64": "v1"}
    if tool.target:
        env["GOOS"], env["GOARCH"] = tool.target
    return env


def ensure_built(tool: GoTool, cache: Path | None = None) -> Path:
    """The cached binary of `tool`, built first if missing (one build at a time per tool)."""
    cache = cache or default_cache()
    target = tool.binary(cache)
    if target.exists():
        return target
    target.parent.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent.parent / f".{tool.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be building the same thing
        if target.exists():
            return target
        for stale in target.parent.parent.glob(f"build-{tool.name}-*"):  # left by a killed build
            shutil.rmtree(stale, ignore_errors=True)
        _build(tool, target)
    return target


def _build(tool: GoTool, target: Path) -> None:
    go = go_binary()
    print(f"[go-tools] building {tool.package}@{tool.version} with {tool.go_toolchain} (first time only; "
          "minutes on 2 cores)", file=sys.stderr, flush=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"build-{tool.name}-", dir=target.parent.parent) as tmp:
        output = Path(tmp) / tool.name
        try:
            result = subprocess.run([go, "build", "-trimpath", "-ldflags", tool.ldflags(), "-o", str(output),
                                     tool.package], cwd=tool.wrapper, env=build_env(tool), capture_output=True,
                                    text=True, timeout=BUILD_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            raise GoBuildError(f"building {tool.name} took longer than {BUILD_TIMEOUT_S}s") from None
        if result.returncode != 0:
            raise GoBuildError(f"building {tool.package}@{tool.version} failed:\n{result.stderr[-3000:]}")
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(output, target)
    print(f"[go-tools] {tool.name} {tool.version} built in {time.monotonic() - started:.0f}s -> {target}",
          file=sys.stderr, flush=True)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def main() -> None:
    try:
        for tool in TOOLS:
            print(f"{tool.name} {tool.version} {ensure_built(tool)}")
    except GoBuildError as error:
        sys.exit(f"go-tools: {error}")


if __name__ == "__main__":
    main()
