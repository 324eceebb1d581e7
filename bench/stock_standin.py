#!/usr/bin/env python3
"""A local Pexels stand-in for `bench/stock.sh`: `GET /videos/search` answers in
Pexels' wire format (one clip per query, offered at 640x360, 1280x720 and
1920x1080) and `/files/...` serves real H.264 clips made once with ffmpeg
(testsrc2 and Mandelbrot zooms at 7-9 Mbit/s like stock footage, 8 s, half
with sound) into $STOCK_BENCH_DIR. Prints its port on stdout when ready."""
import http.server, json, os, subprocess, sys, threading, urllib.parse

root = os.environ.get("STOCK_BENCH_DIR", "/tmp/reelforge-stock-bench-v1")
os.makedirs(root, exist_ok=True)
SIZES = [(640, 360), (1280, 720), (1920, 1080)]
SOURCES = ["testsrc2=size={w}x{h}:rate=30",
           "mandelbrot=size={hw}x{hh}:rate=30,scale={w}:{h}:flags=bicubic",
           "mandelbrot=size={hw}x{hh}:rate=30:start_x=-0.743643887037151:start_y=0.131825904205330:start_scale=0.1,scale={w}:{h}:flags=bicubic"]

def make(i, w, h):
    path = os.path.join(root, f"clip-{i}-{w}x{h}.mp4")
    if not os.path.exists(path):
        source = SOURCES[i % 3].format(w=w, h=h, hw=w // 2, hh=h // 2)
        args = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", source]
        if i % 2 == 0:
            args += ["-f", "lavfi", "-i", "sine=frequency=330:sample_rate=48000", "-c:a", "aac"]
        args += ["-t", "8", "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
                 "-f", "mp4", path + ".part"]
        subprocess.run(args, check=True)
        os.rename(path + ".part", path)
    return path

for i in range(10):
    for w, h in SIZES:
        make(i, w, h)

class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        if url.path == "/videos/search":
            query = urllib.parse.parse_qs(url.query).get("query", ["clip 0"])[0]
            digits = "".join(c for c in query if c.isdigit()) or "0"
            i = int(digits) % 10
            video = {"id": 1000 + i, "width": 1920, "height": 1080, "duration": 8,
                     "url": f"https://www.pexels.com/video/bench-{i}/", "image": None,
                     "user": {"id": 1, "name": "Bench", "url": "https://www.pexels.com/@bench"},
                     "video_files": [{"id": j, "quality": "hd", "file_type": "video/mp4", "width": w, "height": h,
                                      "fps": 30, "link": f"{base}/files/clip-{i}-{w}x{h}.mp4"}
                                     for j, (w, h) in enumerate(SIZES)]}
            body = json.dumps({"page": 1, "per_page": 15, "total_results": 1, "videos": [video]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if url.path.startswith("/files/"):
            path = os.path.join(root, os.path.basename(url.path))
            if os.path.exists(path):
                data = open(path, "rb").read()
                self.send_response(200)
                self.send_header("Content-Type", "video/mp4")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
        self.send_response(404)
        self.end_headers()

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
