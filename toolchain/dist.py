"""`make dist`: what a user of the LXD provider installs, outside this repository, under dist/.

    pulumi-resource-lxd-v<version>-<os>-<arch>.tar.gz   pulumi plugin install resource lxd <version> --file <it>
    pulumi_lxd-<version>-py3-none-any.whl                pip install <it>   (the generated SDK)
    lxdha_lxd_provider-<version>-py3-none-any.whl        the provider's own code, which the archive carries

The version is the provider's (`lxd_provider.schema.VERSION`), which the SDK also carries. Builds run in
temporary directories, so the git tree stays clean.

    python -m toolchain.dist [--out DIR]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from lxd_provider.schema import VERSION
from toolchain import plugin_archive, provider_wheel

ROOT = Path(__file__).resolve().parent.parent
TOOLCHAIN_BIN = ROOT / ".tools" / "bin"


def sdk_wheel(out_dir: Path) -> Path:
    """The pulumi_lxd wheel, built from the SDK that set-up generates with the pinned CLI."""
    if not (TOOLCHAIN_BIN / "pulumi").exists():
        raise RuntimeError(f"{TOOLCHAIN_BIN / 'pulumi'} is missing: run make setup first")
    generated = subprocess.run([str(ROOT / "toolchain" / "generate-sdk.sh"), str(TOOLCHAIN_BIN)], check=True,
                               stdout=subprocess.PIPE, text=True, timeout=600).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="sdk-wheel-") as tmp:
        source = Path(tmp) / "sdk"
        shutil.copytree(generated, source)  # the build writes into its source; the cache stays as generated
        subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                        "-w", str(out_dir), str(source)], check=True, timeout=300, stdout=sys.stderr)
    (wheel,) = out_dir.glob(f"pulumi_lxd-{VERSION}-*.whl")
    return wheel


def build(out_dir: Path) -> list[Path]:
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    modules = provider_wheel.plugin_modules()
    pins = provider_wheel.pinned_closure(provider_wheel.direct_dependencies(modules))
    wheel = provider_wheel.build(VERSION, out_dir, modules, pins)
    return [plugin_archive.build(VERSION, wheel, pins, out_dir), sdk_wheel(out_dir), wheel]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="output directory (emptied first)")
    for path in build(parser.parse_args().out.resolve()):
        print(f"{path}  {path.stat().st_size / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
