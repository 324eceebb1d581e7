#!/usr/bin/env python3
"""From a topic to a finished video, without polling: the worked example of docs/api.md.

    REELFORGE=http://localhost:8080 REELFORGE_KEY=rf_... python3 topic_to_video.py "How tides work" tides.mp4

It listens for Reelforge's webhook on HOOK_PORT (default 8765), registers
HOOK_URL (default http://127.0.0.1:HOOK_PORT/reelforge; in production a public
https address that reaches this port) for the project events, has a script
written from the topic, makes the video from it, waits for the signed event,
downloads the MP4 and removes the endpoint again. Every creating request
carries an Idempotency-Key, so each is retried safely after a timeout, a 429
or a 5xx. The key needs the scopes projects:write, projects:read and
webhooks:manage. Needs Python 3.9+ and `pip install standardwebhooks`;
tests/api/worked_example.rs runs it against a real server.
"""

import json
import os
import queue
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

BASE = os.environ["REELFORGE"].rstrip("/")
KEY = os.environ["REELFORGE_KEY"]
HOOK_PORT = int(os.environ.get("HOOK_PORT", "8765"))
HOOK_URL = os.environ.get("HOOK_URL", f"http://127.0.0.1:{HOOK_PORT}/reelforge")
WAIT_SECONDS = float(os.environ.get("WAIT_SECONDS", "1800"))
FINISHED = ("project.completed", "project.partial", "project.failed")


class Problem(Exception):
    """An RFC 9457 problem answer."""

    def __init__(self, status, body):
        self.status, self.body = status, body
        super().__init__(f"{status} {body.get('reason', '')}: {body.get('detail', body)}")


def call(method, path, body=None, idempotency_key=None, attempts=5):
    """One API call; retried (same Idempotency-Key) on 409, 429, 5xx and network errors."""
    headers = {"X-API-Key": KEY, "Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    for attempt in range(attempts):
        request = urllib.request.Request(BASE + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=150) as answer:
                raw = answer.read()
                return json.loads(raw) if raw else None
        except urllib.error.HTTPError as err:
            problem = json.loads(err.read() or b"{}")
            retry = err.code in (409, 429) or err.code >= 500
            if not retry or attempt == attempts - 1:
                raise Problem(err.code, problem) from None
            time.sleep(float(err.headers.get("Retry-After") or 2 ** attempt))
        except (urllib.error.URLError, TimeoutError):
            if attempt == attempts - 1:
                raise
            time.sleep(2 ** attempt)


def listen(secret_box, events):
    """Receives webhooks; only verified ones reach `events`."""

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
            try:
                event = Webhook(secret_box["secret"]).verify(body, dict(self.headers))
            except (KeyError, WebhookVerificationError):
                self.send_response(400)  # forged, stale, or before we know the secret: Reelforge retries
                self.end_headers()
                return
            self.send_response(204)
            self.end_headers()
            events.put((self.headers["webhook-id"], event))

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", HOOK_PORT), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(topic, out):
    events, secret_box = queue.Queue(), {}
    server = listen(secret_box, events)
    run = uuid.uuid4().hex  # one run, one set of Idempotency-Keys
    endpoint = call("POST", "/api/v1/webhooks", {"url": HOOK_URL, "events": list(FINISHED)}, f"hook-{run}")
    secret_box["secret"] = endpoint["secret"]
    try:
        script = call("POST", "/api/v1/scripts", {"topic": topic, "duration_seconds": 30}, f"script-{run}")
        print(f"script: {script['title']!r}, {len(script['scenes'])} scenes")
        created = call("POST", "/api/v1/projects", {**script, "template_id": "explainer"}, f"project-{run}")
        project_id = created["project_id"]
        print(f"project {project_id} queued, about {created['eta_seconds']} s")

        seen, deadline = set(), time.monotonic() + WAIT_SECONDS
        while True:
            message_id, event = events.get(timeout=max(deadline - time.monotonic(), 0.1))
            if message_id in seen:  # a retried delivery: same webhook-id
                continue
            seen.add(message_id)
            if event["type"] in FINISHED and event["data"]["project_id"] == project_id:
                break
        print(f"{event['type']}: {event['data']['status']}")
        if event["type"] == "project.failed":
            raise SystemExit(f"the video failed: {event['data'].get('error')}")

        request = urllib.request.Request(f"{BASE}/api/v1/projects/{project_id}/video", headers={"X-API-Key": KEY})
        with urllib.request.urlopen(request, timeout=300) as video, open(out, "wb") as file:
            while chunk := video.read(1 << 16):
                file.write(chunk)
        print(f"saved {out} ({os.path.getsize(out)} bytes)")
    finally:
        call("DELETE", f"/api/v1/webhooks/{endpoint['id']}")
        server.shutdown()


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        raise SystemExit(__doc__)
    try:
        main(sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else "video.mp4")
    except Problem as problem:
        raise SystemExit(str(problem))
    except queue.Empty:
        raise SystemExit(f"no event within {WAIT_SECONDS:.0f} s; see GET /api/v1/webhooks/{{id}}/deliveries")
