"""Child-process entry point for one ansible-runner run (see `ansible_apply.apply_playbook`).

Reads {"target": ..., "job": ...} as JSON on stdin, streams task results to stderr and prints one
JSON line {"error": message-or-null} on stdout.
"""

from __future__ import annotations

import json
import sys

from provisioners.ansible_apply import AnsibleError, AnsibleJob, AnsibleTarget, run_playbook_here


def main() -> int:
    request = json.loads(sys.stdin.read())
    try:
        run_playbook_here(AnsibleTarget(**request["target"]), AnsibleJob(**request["job"]))
    except AnsibleError as error:
        print(json.dumps({"error": str(error)}))
        return 1
    except Exception as error:  # report, so the parent shows it instead of a bare exit code
        print(json.dumps({"error": f"ansible runner failed: {type(error).__name__}: {error}"}))
        return 1
    print(json.dumps({"error": None}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
