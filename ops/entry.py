"""How every command of the project ends: with its own exit code, or with one message.

An error that names the object or setting and the fix (ActionableError) is printed as it is; a
failed pulumi command shows its last lines; anything unexpected shows its type and message, and its
traceback goes to .state/logs/commands.log -- a user never sees a Python traceback.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from cluster import logs
from cluster.errors import ActionableError, user_message

LOG = Path(".state/logs/commands.log")


def run(main: Callable[[], int | None], name: str) -> None:
    """Runs a command's main and exits: its return code, 1 on a failure, 130 on Ctrl-C."""
    logs.setup()
    try:
        code = main()
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        sys.exit(130)
    except ActionableError as error:
        print(f"{name}: {error}", file=sys.stderr)
        sys.exit(2)
    except subprocess.CalledProcessError as error:
        output = (error.stderr or error.stdout or "")
        tail = "\n".join(str(output).strip().splitlines()[-10:]) if output else ""
        print(f"{name}: `{' '.join(map(str, error.cmd))}` exited {error.returncode}" + (f":\n{tail}" if tail else ""),
              file=sys.stderr)
        sys.exit(1)
    except Exception as error:  # noqa: BLE001 - the one place a command's unexpected failure is reported
        from toolchain.pulumi_cli import PulumiError  # late: this module must import without the CLI's deps

        if isinstance(error, PulumiError):
            result = error.result
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
            print(f"{name}: a pulumi command failed:\n{tail}", file=sys.stderr)
        else:
            print(f"{name}: {user_message(error, LOG)}", file=sys.stderr)
        sys.exit(1)
    sys.exit(code or 0)
