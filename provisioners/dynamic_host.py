"""The host process of this project's dynamic providers (`pulumi-resource-pulumi-python`).

It is the SDK's own host (pulumi.dynamic) with two changes: a failure reaches the user as one message
(an ActionableError as is; anything else as its type and message, the traceback kept in
.state/logs/plugins.log) instead of a Python traceback; and up to MAX_WORKERS operations run at once
instead of 4, so placements, bootstraps and playbooks of many containers proceed together.
"""

from __future__ import annotations

import sys
import types
from concurrent import futures
from typing import Any

import pulumi.dynamic.__main__ as sdk_host

from cluster.errors import user_message

MAX_WORKERS = 16


def _one_message() -> str:
    error = sys.exc_info()[1]
    return user_message(error) if error is not None else "unknown error"


def _wider_pool(*_args: Any, **_kwargs: Any) -> futures.ThreadPoolExecutor:
    return futures.ThreadPoolExecutor(max_workers=MAX_WORKERS)


def main() -> None:
    sdk_host.traceback = types.SimpleNamespace(format_exc=_one_message)  # read by the SDK's error wrapper
    sdk_host.futures = types.SimpleNamespace(ThreadPoolExecutor=_wider_pool)
    sdk_host.main()


if __name__ == "__main__":
    main()
