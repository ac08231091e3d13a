#!/usr/bin/python3
"""wait-healthy URL SECONDS: exit 0 once URL answers 200, 1 after SECONDS (managed by lxdha)."""
import sys
import time
import urllib.request

url, limit = sys.argv[1], float(sys.argv[2])
deadline = time.monotonic() + limit
while True:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            if response.status == 200:
                sys.exit(0)
    except Exception as error:  # noqa: BLE001 - any failure means "not yet"
        last = error
    if time.monotonic() >= deadline:
        print(f"{url} not healthy after {limit:.0f}s: {last}", file=sys.stderr)
        sys.exit(1)
    time.sleep(0.5)
