#!/usr/bin/env python3
"""`make bench`: distributed rendering on PostgreSQL.

Renders the same 10-scene, one-minute script with the API process running no
workers and the steps taken by separate `reelforge worker` processes:
1 process x 1 step at a time, 1 process x 2, and 2 processes x 1. Each round
starts from an empty database and media root, so nothing is reused. Prints
the wall time from create to completed, the per-kind step times read from the
steps table, and a projection for N worker machines from those step times.
"""
import email
import glob
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADMIN = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
SCRIPT = open(os.path.join(ROOT, "bench", "script-60s.txt")).read()


def binary():
    meta = json.loads(subprocess.check_output(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=ROOT))
    return os.path.join(meta["target_directory"], "release", "reelforge")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def psql(url, sql):
    return subprocess.check_output(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
                                   text=True).strip()


def call(base, path, body=None, token=None):
    request = urllib.request.Request(base + path, method="POST" if body is not None else "GET")
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", "Bearer " + token)
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(request, data, timeout=30) as response:
        return json.loads(response.read() or b"null")


def sign_in(base, outbox):
    call(base, "/api/auth/magic-link/request", {"email": "scale@example.com"})
    for _ in range(100):
        files = glob.glob(os.path.join(outbox, "*.eml"))
        if files:
            msg = email.message_from_file(open(files[0]))
            text = next(p.get_payload(decode=True).decode() for p in msg.walk()
                        if p.get_content_type() == "text/plain")
            token = re.search(r"token=([A-Za-z0-9_-]+)", text).group(1)
            return call(base, "/api/auth/magic-link/verify", {"token": token})["access_token"]
        time.sleep(0.05)
    raise SystemExit("no sign-in mail")


def round_(bin_path, processes, concurrency):
    work = tempfile.mkdtemp(prefix="rf-scaleout-")
    db = f"rf_scaleout_{os.getpid()}_{processes}x{concurrency}"
    psql(f"{ADMIN}/postgres", f"CREATE DATABASE {db}")
    url = f"{ADMIN}/{db}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    common = {**os.environ, "DATABASE_URL": url, "STORAGE_URL": f"file://{work}/media", "RUST_LOG": "warn",
              "JWT_SECRET": "scaleout-bench-secret-0123456789abcdef", "PUBLIC_URL": base}
    children = []
    try:
        api = subprocess.Popen([bin_path, "serve"], env={**common, "DATA_DIR": f"{work}/api", "BIND": f"127.0.0.1:{port}",
                                                         "WORKER_CONCURRENCY": "0"}, stderr=subprocess.DEVNULL)
        children.append(api)
        for _ in range(200):
            try:
                call(base, "/readyz")
                break
            except OSError:
                time.sleep(0.05)
        token = sign_in(base, f"{work}/api/outbox")
        for n in range(processes):
            children.append(subprocess.Popen(
                [bin_path, "worker"], env={**common, "DATA_DIR": f"{work}/worker{n}", "WORKER_CONCURRENCY": str(concurrency)},
                stderr=subprocess.DEVNULL))
        time.sleep(1)  # workers connected and idle
        started = time.monotonic()
        project = call(base, "/api/v1/projects", {"title": "scale", "script": SCRIPT, "template_id": "explainer"}, token)
        pid = project["project_id"]
        while True:
            status = call(base, f"/api/v1/projects/{pid}", token=token)["status"]
            if status in ("completed", "partial", "failed", "cancelled"):
                break
            time.sleep(0.1)
        wall = time.monotonic() - started
        if status != "completed":
            raise SystemExit(f"project ended {status}")
        rows = psql(url, "SELECT kind, COUNT(*), SUM(duration_ms), MAX(duration_ms), COUNT(DISTINCT finished_by) "
                         f"FROM steps WHERE project_id = '{pid}' GROUP BY kind ORDER BY kind")
        owners = psql(url, f"SELECT COUNT(DISTINCT regexp_replace(finished_by, '-w[0-9]+-[0-9a-f]+$', '')) FROM steps WHERE project_id = '{pid}'")
        kinds = {}
        for line in rows.splitlines():
            kind, count, total, longest, _ = line.split("|")
            kinds[kind] = (int(count), int(total), int(longest))
        return wall, kinds, int(owners)
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
        psql(f"{ADMIN}/postgres", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        shutil.rmtree(work, ignore_errors=True)


def main():
    bin_path = binary()
    if not os.path.exists(bin_path):
        raise SystemExit(f"{bin_path} is missing: run `cargo build --release` first")
    results = []
    for processes, concurrency in [(1, 1), (1, 2), (2, 1)]:
        wall, kinds, owners = round_(bin_path, processes, concurrency)
        results.append((processes, concurrency, wall, kinds, owners))
        per = ", ".join(f"{k} {c}x avg {t / c / 1000:.2f} s" for k, (c, t, _) in kinds.items())
        print(f"distributed render: {processes} worker process(es) x {concurrency}: {wall:.1f} s wall, "
              f"steps ran in {owners} process(es); {per}")
    base_wall = results[0][2]
    for processes, concurrency, wall, _, _ in results[1:]:
        print(f"  {processes}x{concurrency} vs 1x1: speed-up {base_wall / wall:.2f}")
    # Projection from the 1x1 round, whose steps each had the whole machine (x264
    # uses every core): every step but the final join is independent, so N
    # machines like this one share the scene work, bounded below by the longest
    # scene's chain; the join runs once.
    _, _, _, kinds, _ = results[0]
    parallel = sum(t for k, (c, t, _) in kinds.items() if k != "final") / 1000
    longest_scene = max(kinds.get("image", (0, 0, 0))[2] + kinds.get("segment", (0, 0, 0))[2],
                        kinds.get("speech", (0, 0, 0))[2] + kinds.get("segment", (0, 0, 0))[2]) / 1000
    final = kinds.get("final", (0, 0, 0))[1] / 1000
    print(f"  step time: {parallel:.1f} s of per-scene work (image, speech, segment) + {final:.1f} s final join")
    for n in (1, 2, 4, 8, 10):
        projected = max(parallel / n, longest_scene) + final
        print(f"  projected with {n:>2} worker machines like this one: {projected:.1f} s "
              f"(speed-up {(parallel + final) / projected:.1f}x)")


if __name__ == "__main__":
    main()
