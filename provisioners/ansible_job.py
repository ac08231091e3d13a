"""Child-process entry point for one ansible-runner run (see `ansible_apply.run_playbook`).

Reads {"targets": [...], "job": ...} as JSON on stdin, streams task results to stderr and prints one
JSON line on stdout: {"error": null, "hosts": {host: error-or-null}}, or {"error": message} when the
run could not be made at all.
"""

from __future__ import annotations

import json
import sys

from provisioners.ansible_apply import AnsibleJob, AnsibleTarget, run_playbook_here


def main() -> int:
    request = json.loads(sys.stdin.read())
    try:
        hosts = run_playbook_here([AnsibleTarget(**target) for target in request["targets"]],
                                  AnsibleJob(**request["job"]))
    except Exception as error:  # report, so the parent shows it instead of a bare exit code
        print(json.dumps({"error": f"ansible runner failed: {type(error).__name__}: {error}"}))
        return 1
    print(json.dumps({"error": None, "hosts": hosts}))
    return 0 if not any(hosts.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
