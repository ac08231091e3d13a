"""Prints `export` lines for running the project's `pulumi` by hand: `source <(python -m toolchain.shell_env)`."""

from __future__ import annotations

import os
import shlex

from toolchain.pulumi_cli import pulumi_env

KEYS = ("PATH", "PULUMI_HOME", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE_FILE", "PULUMI_SKIP_UPDATE_CHECK",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION", "PULUMI_DISABLE_REGISTRY_RESOLVE", "PULUMI_RUN_PROGRAM",
        "PULUMI_ENABLE_LEGACY_REFRESH_DIFF",
        "PYTHONPATH")


def main() -> None:
    env = pulumi_env()
    for key in KEYS:
        if key in env:
            print(f"export {key}={shlex.quote(env[key])}")
    for key in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        if key in os.environ:
            print(f"unset {key}")


if __name__ == "__main__":
    main()
