#!/usr/bin/python3
"""The image's HEALTHCHECK: GET /healthz on BIND (`reelforge serve`) or on
METRICS_BIND (`reelforge worker`); healthy when either answers 200."""
import os
import sys
import urllib.request


def url(bind):
    host, _, port = bind.rpartition(":")
    host = host.strip("[]")
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/healthz"


for key in ("BIND", "METRICS_BIND"):
    bind = os.environ.get(key, "").strip()
    if not bind:
        continue
    try:
        with urllib.request.urlopen(url(bind), timeout=3) as response:
            if response.status == 200:
                sys.exit(0)
    except (OSError, ValueError):
        pass
sys.exit(1)
