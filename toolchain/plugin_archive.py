"""The `pulumi-resource-lxd` plugin archive, for `pulumi plugin install resource lxd <version> --file <archive>`.

It runs without this repository: the provider wheel and every distribution it needs are installed in
the archive's `lib/` (pinned to what the tests ran with), and the launcher starts them with the
machine's CPython of the same minor version, the one Python Pulumi programs already need. Binary
wheels (grpcio, cryptography) tie the archive to that version and platform; both are in its manifest.
Modules are precompiled (unchecked-hash .pyc: the installed plugin never changes), so the first start
compiles nothing and the plugin directory may be read-only.

Entries are sorted, owned by root and dated SOURCE_DATE_EPOCH (or the last commit): the same inputs
give the same archive.
"""

from __future__ import annotations

import compileall
import gzip
import io
import json
import os
import platform
import py_compile
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAUNCHER = ROOT / "toolchain" / "plugin-launcher.sh"
EXECUTABLE = "pulumi-resource-lxd"
MANIFEST = "lxd-plugin.json"
ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}  # Pulumi's names


def python_version() -> str:
    return f"{sys.version_info[0]}.{sys.version_info[1]}"


def platform_name() -> str:
    """`linux-amd64`: the os-arch pair Pulumi names plugin archives with."""
    machine = platform.machine()
    if machine not in ARCHITECTURES:
        raise RuntimeError(f"no Pulumi architecture name for {machine!r}: add it to ARCHITECTURES in {__file__}")
    return f"{sys.platform}-{ARCHITECTURES[machine]}"


def archive_name(version: str) -> str:
    return f"{EXECUTABLE}-v{version}-{platform_name()}.tar.gz"


def launcher() -> str:
    return (LAUNCHER.read_text().replace("@PYTHON@", python_version())
            .replace("@PLATFORM@", platform_name()))


def manifest(version: str, pins: dict[str, str], provider_wheel: str) -> dict[str, object]:
    return {"name": "lxd", "kind": "resource", "version": version, "python": python_version(),
            "platform": platform_name(), "provider": provider_wheel, "packages": pins}


def install_lib(provider_wheel: Path, pins: dict[str, str], lib: Path) -> None:
    """Installs the provider and exactly `pins` (binary wheels only, no resolver: the pins are the set)."""
    wanted = [str(provider_wheel), *(f"{name}=={version}" for name, version in pins.items())]
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--only-binary=:all:", "--no-compile",
                    "--target", str(lib), *wanted], check=True, timeout=900, stdout=sys.stderr)
    shutil.rmtree(lib / "bin", ignore_errors=True)  # console scripts pointing at the build's interpreter
    for stray in lib.glob("*.dist-info/direct_url.json"):
        stray.unlink()  # names the build's temporary directory
    if not compileall.compile_dir(lib, quiet=1, workers=0,
                                  invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH):
        raise RuntimeError(f"compiling the plugin's modules in {lib} failed (output above)")


def source_date() -> int:
    if os.environ.get("SOURCE_DATE_EPOCH"):
        return int(os.environ["SOURCE_DATE_EPOCH"])
    commit = subprocess.run(["git", "log", "-1", "--format=%ct"], cwd=ROOT, capture_output=True, text=True)
    return int(commit.stdout.strip() or 0)


def write_archive(stage: Path, out: Path, mtime: int) -> None:
    """A gzipped tar of `stage`'s contents, reproducible: sorted, root-owned, one date, modes 0755/0644."""
    def normalized(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.mtime = mtime
        info.mode = 0o755 if info.isdir() or info.mode & 0o111 else 0o644
        return info

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(stage.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(stage)), recursive=False, filter=normalized)
    with out.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=mtime, filename="") as gz:
        gz.write(buffer.getvalue())


def build(version: str, provider_wheel: Path, pins: dict[str, str], out_dir: Path) -> Path:
    with tempfile.TemporaryDirectory(prefix="plugin-archive-") as tmp:
        stage = Path(tmp)
        install_lib(provider_wheel, pins, stage / "lib")
        (stage / EXECUTABLE).write_text(launcher())
        (stage / EXECUTABLE).chmod(0o755)
        (stage / MANIFEST).write_text(json.dumps(manifest(version, pins, provider_wheel.name), indent=2) + "\n")
        out = out_dir / archive_name(version)
        write_archive(stage, out, source_date())
    return out
