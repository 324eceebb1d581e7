"""Process, database, HTTP and clean-up plumbing for the chaos suite.

Everything the suite starts is registered with a `Run`, whose `cleanup()`
stops it in reverse order (processes by their own id, then a sweep of any
descendant that still carries this run's token in its environment, mounts,
databases, temporary directories). `cleanup()` runs from `finally`, from
`atexit`, and after SIGTERM/SIGINT.
"""

from __future__ import annotations

import atexit
import email
import email.policy
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OUTPUT = REPO / "test-output" / "chaos"
TOKEN_VAR = "REELFORGE_CHAOS_RUN"


class ChaosFailure(Exception):
    """A scenario's assertion failed."""


def log(message: str) -> None:
    print(f"[chaos {time.strftime('%H:%M:%S')}] {message}", flush=True)


def wait_until(what: str, check, timeout: float, interval: float = 0.2):
    """Calls `check()` until it returns something truthy; raises after `timeout` s.
    Exceptions from `check` count as "not yet" (the database may be restarting)."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = check()
            if value:
                return value
        except Exception as err:  # noqa: BLE001 - anything means "not yet"
            last_error = err
        if time.monotonic() > deadline:
            detail = f" (last error: {last_error})" if last_error else ""
            raise ChaosFailure(f"timed out after {timeout:.0f} s waiting for {what}{detail}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- run


class Run:
    """One invocation of the suite: temp root, token, clean-up stack."""

    def __init__(self, binary: Path, label: str, keep: bool = False):
        self.binary = binary
        self.label = label
        self.logs = OUTPUT / label
        self.keep = keep
        self.token = secrets.token_hex(6)
        self.root = Path(tempfile.mkdtemp(prefix=f"reelforge-chaos-{self.token}-"))
        self._cleanups: list[tuple[str, callable]] = []
        self._cleaned = False
        self.on_cleanup("remove the temporary root", self._remove_root)
        atexit.register(self.cleanup)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum, _frame):
        log(f"received signal {signum}: cleaning up")
        self.cleanup()
        sys.exit(128 + signum)

    def _remove_root(self):
        if self.keep:
            log(f"keeping {self.root}")
            return
        shutil.rmtree(self.root, ignore_errors=True)

    def on_cleanup(self, what: str, fn) -> None:
        self._cleanups.append((what, fn))

    def base_env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "USER")}
        env[TOKEN_VAR] = self.token
        return env

    def processes_with(self, variable: str, value: str) -> list[tuple[int, str]]:
        """(pid, command line) of this run's processes whose environment has
        `variable=value`."""
        mine = f"{TOKEN_VAR}={self.token}".encode()
        wanted = f"{variable}={value}".encode()
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                environ = (entry / "environ").read_bytes().split(b"\0")
                if mine in environ and wanted in environ:
                    cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                    found.append((int(entry.name), cmdline.strip()))
            except OSError:
                continue
        return found

    def sweep_processes(self) -> int:
        """SIGKILL every process (but this one) whose environment carries this
        run's token: orphans of a killed worker (ffmpeg in its own process
        group), a private PostgreSQL, wrappers. Killed by pid, one by one."""
        needle = f"{TOKEN_VAR}={self.token}".encode()
        killed = 0
        me = os.getpid()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == me:
                continue
            try:
                environ = (entry / "environ").read_bytes()
            except OSError:
                continue
            if needle in environ.split(b"\0"):
                try:
                    os.kill(int(entry.name), signal.SIGKILL)
                    killed += 1
                except OSError:
                    pass
        return killed

    def cleanup(self) -> None:
        if self._cleaned:
            return
        self._cleaned = True
        # Processes and mounts first (LIFO), then the sweep, then the root.
        root_cleanup = self._cleanups.pop(0)
        while self._cleanups:
            what, fn = self._cleanups.pop()
            try:
                fn()
            except Exception as err:  # noqa: BLE001 - clean up everything we can
                log(f"clean-up step failed ({what}): {err}")
        killed = self.sweep_processes()
        if killed:
            log(f"clean-up: killed {killed} leftover process(es) of this run")
            time.sleep(0.3)
        try:
            root_cleanup[1]()
        except Exception as err:  # noqa: BLE001
            log(f"clean-up failed ({root_cleanup[0]}): {err}")


# --------------------------------------------------------------------------- processes


class Proc:
    """A child process in its own session, logging to a file."""

    def __init__(self, run: Run, name: str, args: list[str], env: dict, cwd: Path, log_path: Path):
        self.name = name
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(log_path, "ab")
        self.popen = subprocess.Popen(
            args, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pid = self.popen.pid
        self.on_purpose = False  # set when the suite itself signals it
        run.on_cleanup(f"stop {name}", self.stop)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill9(self) -> None:
        """SIGKILL the process itself (not its group), as a crash would."""
        self.on_purpose = True
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def term(self) -> None:
        self.on_purpose = True
        if self.alive():
            os.kill(self.pid, signal.SIGTERM)

    def wait(self, timeout: float):
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        if self.alive():
            try:
                os.killpg(self.pid, signal.SIGTERM)
            except OSError:
                pass
            if self.wait(8) is None:
                try:
                    os.killpg(self.pid, signal.SIGKILL)
                except OSError:
                    pass
                self.wait(5)
        self._log.close()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


# --------------------------------------------------------------------------- PostgreSQL

PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"


def psql(dsn: str, sql: str, timeout: float = 20) -> str:
    out = subprocess.run(
        ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-c", sql],
        capture_output=True, text=True, timeout=timeout,
    )
    if out.returncode != 0:
        raise RuntimeError(f"psql failed: {out.stderr.strip()}")
    return out.stdout


def query(dsn: str, sql: str) -> list[dict]:
    """Rows of `sql` as dicts (through json_agg, so types survive)."""
    text = psql(dsn, f"SELECT coalesce(json_agg(t), '[]'::json) FROM ({sql}) t").strip()
    return json.loads(text or "[]")


def shared_database(run: Run, name: str) -> str:
    """A uniquely named database on the machine's shared PostgreSQL, dropped at clean-up."""
    db = f"reelforge_chaos_{run.token}_{name}"
    psql(PG_ADMIN, f'CREATE DATABASE "{db}"')
    run.on_cleanup(f"drop database {db}", lambda: psql(PG_ADMIN, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
    return f"postgres://postgres@127.0.0.1:5432/{db}"


def _pg_bin(tool: str) -> str:
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{tool}"), key=lambda p: int(p.parts[-3]))
    if candidates:
        return str(candidates[-1])
    found = shutil.which(tool)
    if not found:
        raise ChaosFailure(f"{tool} not found (install the PostgreSQL server package)")
    return found


class PrivatePostgres:
    """A throw-away PostgreSQL cluster on a free loopback port, trust auth, so
    that restarting it disturbs nobody else."""

    def __init__(self, run: Run, log_dir: Path):
        self.run = run
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix=f"reelforge-chaos-{run.token}-pg-"))
        self.data = self.dir / "data"
        self.log_file = self.dir / "postgres.log"
        self.log_dir = log_dir
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        run.on_cleanup("remove the private PostgreSQL directory", self._remove)
        run.on_cleanup("stop the private PostgreSQL", self.stop_quietly)
        env = run.base_env()
        self._cmd([_pg_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync",
                   "-E", "UTF8", "--locale=C"], env, 60)
        self.dsn_admin = f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _cmd(self, args: list[str], env: dict, timeout: float):
        if self.as_postgres:
            args = ["runuser", "-u", "postgres", "--", *args]
        out = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout, cwd=self.dir)
        if out.returncode != 0:
            raise ChaosFailure(f"{' '.join(args)} failed: {out.stderr.strip() or out.stdout.strip()}")
        return out

    def start(self):
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=200"
        self._cmd([_pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log_file), "-o", opts, "-w", "-t", "60",
                   "start"], self.run.base_env(), 90)

    def stop(self, mode: str = "fast"):
        self._cmd([_pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop"],
                  self.run.base_env(), 90)

    def stop_quietly(self):
        if (self.data / "postmaster.pid").exists():
            try:
                self.stop("immediate")
            except Exception as err:  # noqa: BLE001
                log(f"stopping the private PostgreSQL: {err}")

    def _remove(self):
        try:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            if self.log_file.exists():
                shutil.copy(self.log_file, self.log_dir / "postgres.log")
        except OSError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)

    def create_database(self, name: str) -> str:
        psql(self.dsn_admin, f'CREATE DATABASE "{name}"')
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"


# --------------------------------------------------------------------------- HTTP


class Response:
    def __init__(self, status: int, headers, body: bytes):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


class Api:
    def __init__(self, base: str):
        self.base = base.rstrip("/")

    def call(self, method: str, path: str, body=None, token: str | None = None, timeout: float = 30) -> Response:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return Response(answer.status, answer.headers, answer.read())
        except urllib.error.HTTPError as err:
            return Response(err.code, err.headers, err.read())

    def get(self, path, token=None, timeout=30):
        return self.call("GET", path, None, token, timeout)

    def post(self, path, body=None, token=None, timeout=30):
        return self.call("POST", path, body if body is not None else {}, token, timeout)


def magic_link_token(outbox: Path, address: str, since: set[str]) -> str | None:
    """The token of a new magic-link message to `address` in `outbox`."""
    if not outbox.is_dir():
        return None
    for path in sorted(outbox.iterdir()):
        if path.name in since or not path.is_file():
            continue
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if address not in str(message.get("To", "")):
            continue
        texts = []
        for part in message.walk():
            if part.get_content_maintype() == "text":
                payload = part.get_payload(decode=True) or b""
                texts.append(payload.decode(errors="replace"))
        found = re.search(r"/auth/verify\?token=([A-Za-z0-9_\-]+)", "\n".join(texts))
        if found:
            return found.group(1)
    return None
