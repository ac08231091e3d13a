"""Prints what the tests will run against: CLI version, language host, plugins (for CI logs)."""

from __future__ import annotations

import shutil
import subprocess

from toolchain.pulumi_cli import pulumi_env


def main() -> None:
    env = pulumi_env()
    for args in (["pulumi", "version"], ["pulumi", "plugin", "ls"], ["pulumi-language-python", "-version"]):
        result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60, check=True)
        print(f"$ {' '.join(args)}\n{result.stdout.strip()}")
    for name in ("pulumi-language-python-exec", "pulumi-resource-pulumi-python", "pulumi-language-yaml"):
        print(f"{name}: {shutil.which(name, path=env['PATH'])}")


if __name__ == "__main__":
    main()
