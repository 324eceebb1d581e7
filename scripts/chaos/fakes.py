"""Stand-ins: an OpenAI-compatible images API that can hang, and wrappers
around ffmpeg / espeak-ng that can be slowed down at run time."""

from __future__ import annotations

import base64
import json
import struct
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from harness import Run, free_port


def png(width: int, height: int, seed: int = 0) -> bytes:
    """A small RGB gradient PNG (standard library only)."""
    rows = []
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            row += bytes(((x * 255 // max(width - 1, 1) + seed * 40) % 256, y * 255 // max(height - 1, 1),
                          (seed * 97) % 256))
        rows.append(bytes(row))
    raw = b"".join(rows)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


class ImageProvider:
    """`POST /v1/images/generations`. A prompt containing a word in `hang_words`
    hangs (until `hang_seconds` pass or the stand-in stops); a prompt containing
    a word in `flaky_words` hangs on its first call only; anything else gets a
    PNG at once. Every call is counted per prompt."""

    def __init__(self, run: Run, hang_words=(), flaky_words=(), hang_seconds: float = 120):
        self.hang_words = tuple(hang_words)
        self.flaky_words = tuple(flaky_words)
        self.hang_seconds = hang_seconds
        self.calls: dict[str, int] = {}
        self.answered: dict[str, int] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.image = base64.b64encode(png(64, 36, 3)).decode()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args):
                pass

            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path.rstrip("/") != "/v1/images/generations":
                    self.send_error(404)
                    return
                prompt = str(body.get("prompt", ""))
                with provider.lock:
                    count = provider.calls.get(prompt, 0) + 1
                    provider.calls[prompt] = count
                hang = any(w in prompt for w in provider.hang_words) or (
                    count == 1 and any(w in prompt for w in provider.flaky_words))
                if hang:
                    provider.stopping.wait(provider.hang_seconds)
                    return  # never answers: the client has given up by now
                answer = json.dumps({"created": 0, "data": [{"b64_json": provider.image}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
                with provider.lock:
                    provider.answered[prompt] = provider.answered.get(prompt, 0) + 1

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        run.on_cleanup("stop the image stand-in", self.stop)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def calls_for(self, word: str) -> int:
        with self.lock:
            return sum(n for prompt, n in self.calls.items() if word in prompt)

    def stop(self):
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


WRAPPER = """#!/bin/sh
# Chaos wrapper: sleeps for the seconds in $CHAOS_CTRL/$CHAOS_PROC.{name}.delay (this process only) or
# else $CHAOS_CTRL/{name}.delay (every process), then runs the real program.
delay=$(cat "$CHAOS_CTRL/$CHAOS_PROC.{name}.delay" 2>/dev/null || cat "$CHAOS_CTRL/{name}.delay" 2>/dev/null)
if [ -n "$delay" ] && [ "$delay" != "0" ]; then
    sleep "$delay"
fi
exec {real} "$@"
"""


def write_wrappers(bin_dir: Path) -> dict[str, Path]:
    """`ffmpeg` and `espeak-ng` wrappers whose delay the suite sets at run time
    through files in `$CHAOS_CTRL`."""
    import shutil

    bin_dir.mkdir(parents=True, exist_ok=True)
    out = {}
    for name in ("ffmpeg", "espeak-ng"):
        real = shutil.which(name)
        if not real:
            raise RuntimeError(f"{name} is not installed")
        path = bin_dir / name
        path.write_text(WRAPPER.format(name=name, real=real))
        path.chmod(0o755)
        out[name] = path
    return out
