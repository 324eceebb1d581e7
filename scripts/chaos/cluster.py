"""A Reelforge deployment for one scenario: one `serve` (no in-process
workers) and any number of `worker` processes on one PostgreSQL database and
one file storage root, each process with its own DATA_DIR."""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path

from fakes import write_wrappers
from harness import Api, ChaosFailure, Proc, Run, free_port, magic_link_token, query, wait_until

OWNER_PID = re.compile(r"-(\d+)-w\d+-[0-9a-f]{32}$")


class Cluster:
    def __init__(self, run: Run, name: str, database_url: str, storage_root: Path | None = None,
                 lease_seconds: int = 3, extra_env: dict | None = None):
        self.run = run
        self.name = name
        self.database_url = database_url
        self.dir = run.root / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log_dir = run.logs
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.storage_root = storage_root or (self.dir / "media")
        self.storage_root.mkdir(parents=True, exist_ok=True)
        self.usage_log_dir = self.dir / "usage-log"
        self.ctrl = self.dir / "ctrl"
        self.ctrl.mkdir(exist_ok=True)
        self.wrappers = write_wrappers(self.dir / "bin")
        self.lease_seconds = lease_seconds
        self.jwt_secret = secrets.token_urlsafe(48)
        self.extra_env = extra_env or {}
        self.serve: Proc | None = None
        self.serve_dir: Path | None = None
        self.api: Api | None = None
        self.workers: list[Proc] = []
        self._generation = 0

    # ------------------------------------------------------------------ env

    def env(self, data_dir: Path, extra: dict | None = None) -> dict:
        env = self.run.base_env()
        env.update({
            "APP_ENV": "development",
            "DATA_DIR": str(data_dir),
            "DATABASE_URL": self.database_url,
            "STORAGE_URL": f"file://{self.storage_root}",
            "USAGE_LOG_DIR": str(self.usage_log_dir),
            "JWT_SECRET": self.jwt_secret,
            "SECURE_COOKIES": "false",
            "RATE_LIMIT_EMAIL_PER_15M": "0",
            "RATE_LIMIT_IP_PER_15M": "0",
            "WORKER_LEASE_SECONDS": str(self.lease_seconds),
            "FFMPEG_PATH": str(self.wrappers["ffmpeg"]),
            "ESPEAK_PATH": str(self.wrappers["espeak-ng"]),
            "CHAOS_CTRL": str(self.ctrl),
            "BACKUPS_CRON": "0 3 1 1 *",
            "RUST_LOG": "info,sqlx=warn,tower_http=warn",
            "NO_COLOR": "1",
        })
        env.update(self.extra_env)
        env.update(extra or {})
        return env

    def set_delay(self, program: str, seconds: float, proc: Proc | None = None) -> None:
        """Makes every later run of `program` (ffmpeg, espeak-ng) wait first; in
        one process only when `proc` is given."""
        prefix = f"{proc.name.split('/')[-1]}." if proc else ""
        (self.ctrl / f"{prefix}{program}.delay").write_text(f"{seconds:g}")

    # ------------------------------------------------------------------ processes

    def start_serve(self, extra: dict | None = None) -> None:
        self._generation += 1
        port = free_port()
        self.serve_dir = self.dir / f"serve-{self._generation}"
        self.serve_dir.mkdir(parents=True, exist_ok=True)
        env = self.env(self.serve_dir, {
            "CHAOS_PROC": f"serve-{self._generation}",
            "WORKER_CONCURRENCY": "0",
            "BIND": f"127.0.0.1:{port}",
            "PUBLIC_URL": f"http://127.0.0.1:{port}",
            **(extra or {}),
        })
        self.serve = Proc(self.run, f"{self.name}/serve-{self._generation}", [str(self.run.binary), "serve"], env,
                          self.serve_dir, self.log_dir / f"serve-{self._generation}.log")
        self.api = Api(f"http://127.0.0.1:{port}")

        def up():
            if not self.serve.alive():
                raise ChaosFailure(f"serve exited with {self.serve.popen.returncode}; see {self.serve.log_path}")
            return self.api.get("/healthz", timeout=2).status == 200

        try:
            wait_until("serve to answer /healthz", up, 90)
        except ChaosFailure as err:
            if not self.serve.alive():
                raise ChaosFailure(f"serve exited with {self.serve.popen.returncode}; see {self.serve.log_path}") \
                    from err
            raise

    def start_worker(self, concurrency: int = 1, extra: dict | None = None, data_dir: Path | None = None) -> Proc:
        self._generation += 1
        index = len(self.workers) + 1
        name = f"worker-{index}"
        data = data_dir or (self.dir / name)
        data.mkdir(parents=True, exist_ok=True)
        env = self.env(data, {"CHAOS_PROC": name, "WORKER_CONCURRENCY": str(concurrency), **(extra or {})})
        proc = Proc(self.run, f"{self.name}/{name}", [str(self.run.binary), "worker"], env, data,
                    self.log_dir / f"{name}.log")
        proc.data_dir = data
        self.workers.append(proc)

        def started():
            if not proc.alive():
                raise ChaosFailure(f"{name} exited with {proc.popen.returncode}; see {proc.log_path}")
            return "step workers started" in proc.log_text()

        wait_until(f"{name} to start", started, 90)
        return proc

    def worker_by_pid(self, pid: int) -> Proc | None:
        return next((w for w in self.workers if w.pid == pid), None)

    @staticmethod
    def owner_pid(owner: str | None) -> int | None:
        found = OWNER_PID.search(owner or "")
        return int(found.group(1)) if found else None

    def stop_all(self) -> None:
        for proc in [*self.workers, self.serve]:
            if proc:
                proc.stop()

    def check_alive(self) -> None:
        """Fails when a process that should run died on its own."""
        if self.serve and not self.serve.alive():
            raise ChaosFailure(f"serve died (exit {self.serve.popen.returncode}); see {self.serve.log_path}")

    # ------------------------------------------------------------------ API

    def sign_in(self, address: str) -> str:
        outbox = self.serve_dir / "outbox"
        seen = {p.name for p in outbox.iterdir()} if outbox.is_dir() else set()
        answer = self.api.post("/api/auth/magic-link/request", {"email": address})
        if answer.status != 202:
            raise ChaosFailure(f"magic-link request for {address} answered {answer}")
        token = wait_until(f"the magic-link e-mail to {address}", lambda: magic_link_token(outbox, address, seen), 20)
        answer = self.api.post("/api/auth/magic-link/verify", {"token": token})
        if answer.status != 200 or not (answer.json() or {}).get("access_token"):
            raise ChaosFailure(f"magic-link verify answered {answer}")
        return answer.json()["access_token"]

    def tenant_of(self, token: str) -> str:
        me = self.api.get("/api/auth/me", token).json() or {}
        tenant = me.get("tenant_id") or (me.get("tenant") or {}).get("id")
        if not tenant:
            raise ChaosFailure(f"/api/auth/me has no tenant id: {me}")
        return tenant

    def create_project(self, token: str, title: str, script: str, expect: int = 202) -> str | None:
        answer = self.api.post("/api/v1/projects", {"title": title, "script": script, "template_id": "explainer"},
                               token)
        if answer.status != expect:
            raise ChaosFailure(f"creating {title!r} answered {answer.status} (expected {expect}): {answer}")
        return (answer.json() or {}).get("project_id") if expect == 202 else None

    def project(self, token: str, project_id: str) -> dict:
        answer = self.api.get(f"/api/v1/projects/{project_id}", token)
        if answer.status != 200:
            raise ChaosFailure(f"GET project {project_id} answered {answer}")
        return answer.json()

    # ------------------------------------------------------------------ database

    def q(self, sql: str) -> list[dict]:
        return query(self.database_url, sql)

    def running_steps(self, kinds=("image", "speech", "segment", "final")) -> list[dict]:
        kind_list = ", ".join(f"'{k}'" for k in kinds)
        return self.q(f"SELECT id, project_id, kind, scene_index, lease_owner, attempts, started_at FROM steps "
                      f"WHERE status = 'running' AND kind IN ({kind_list}) ORDER BY started_at")

    def wait_finished(self, project_ids: list[str], timeout: float) -> dict[str, str]:
        """Waits until no project is queued or running; returns id -> status.
        A project still unfinished at the deadline is reported stuck."""
        ids = ", ".join(f"'{p}'" for p in project_ids)
        deadline = time.monotonic() + timeout
        statuses: dict[str, str] = {}
        while True:
            self.check_alive()
            try:
                rows = self.q(f"SELECT id, status FROM projects WHERE id IN ({ids})")
                statuses = {r["id"]: r["status"] for r in rows}
                if len(rows) == len(project_ids) and all(s not in ("queued", "running") for s in statuses.values()):
                    return statuses
            except RuntimeError:
                pass  # the database may be restarting
            if time.monotonic() > deadline:
                stuck = {p: statuses.get(p, "missing") for p in project_ids
                         if statuses.get(p, "missing") in ("queued", "running", "missing")}
                steps = []
                try:
                    steps = self.q(f"SELECT project_id, kind, scene_index, status, attempts, lease_owner, error "
                                   f"FROM steps WHERE project_id IN ({ids}) AND status NOT IN ('done', 'cancelled') "
                                   f"ORDER BY project_id, id")
                except RuntimeError:
                    pass
                raise ChaosFailure(f"projects still unfinished after {timeout:.0f} s: {stuck}; "
                                   f"their unfinished steps: {steps}")
            time.sleep(0.5)


def script_for(index: int, scenes: int = 2, marker: str = "") -> str:
    """A short script of `scenes` paragraphs (one short sentence each)."""
    topics = ["river", "harbour", "forest", "desert", "mountain", "city", "garden", "island", "valley"]
    paragraphs = []
    for s in range(scenes):
        topic = topics[(index + s) % len(topics)]
        extra = f" {marker}" if marker and s == 1 else ""
        paragraphs.append(f"Scene {s + 1} of video {index}: the {topic} at dawn{extra}.")
    return "\n\n".join(paragraphs)
