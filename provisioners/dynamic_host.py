"""The host process of this project's dynamic providers (`pulumi-resource-pulumi-python`).

It is the SDK's own host (pulumi.dynamic) with three changes: a failure reaches the user as one message
(an ActionableError as is; anything else as its type and message, the traceback kept in
.state/logs/plugins.log) instead of a Python traceback; up to MAX_WORKERS operations run at once
instead of 4, so placements, bootstraps and playbooks of many containers proceed together; and it
stops on the engine's SIGINT (the engine waits 5 s for that, then kills it), even when it was started
with SIGINT ignored (from a script, CI or nohup).

The SDK's module calls its `main()` as it is imported, so importing it would start the SDK's host
before any change applies (and a second one after it stops). Its code is loaded here without that
last call, the changes are made in its namespace, and then its `main()` runs once.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import signal
import sys
import types
from concurrent import futures
from typing import Any

from cluster.errors import user_message

SDK_HOST = "pulumi.dynamic.__main__"
MAX_WORKERS = 16


def _one_message() -> str:
    error = sys.exc_info()[1]
    return user_message(error) if error is not None else "unknown error"


def _wider_pool(*_args: Any, **_kwargs: Any) -> futures.ThreadPoolExecutor:
    return futures.ThreadPoolExecutor(max_workers=MAX_WORKERS)


def _is_main_call(node: ast.stmt) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name) and node.value.func.id == "main")


def load_sdk_host() -> dict[str, Any]:
    """The SDK host module's namespace, its code run except the top-level `main()` call."""
    spec = importlib.util.find_spec(SDK_HOST)
    if spec is None or spec.origin is None or spec.loader is None:
        raise RuntimeError(f"the Pulumi SDK has no {SDK_HOST}: run `make setup`")
    tree = ast.parse(spec.loader.get_source(SDK_HOST) or "", spec.origin)  # type: ignore[attr-defined]
    tree.body = [node for node in tree.body if not _is_main_call(node)]
    namespace: dict[str, Any] = {"__name__": SDK_HOST, "__file__": spec.origin, "__package__": "pulumi.dynamic"}
    exec(compile(tree, spec.origin, "exec"), namespace)  # noqa: S102 - the installed SDK's own code
    return namespace


def main() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.default_int_handler)  # the SDK's main stops its server on KeyboardInterrupt
    host = load_sdk_host()
    host["traceback"] = types.SimpleNamespace(format_exc=_one_message)  # read by the SDK's error wrapper
    host["futures"] = types.SimpleNamespace(ThreadPoolExecutor=_wider_pool)
    try:
        host["main"]()
    except KeyboardInterrupt:  # arrived between the SDK's port line and its own handler: same stop
        sys.stdout.flush()
        os._exit(0)  # the gRPC server's threads would otherwise keep the process alive


if __name__ == "__main__":
    main()
