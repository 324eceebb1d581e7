"""What every scenario asserts at the end: the final state of every project,
exact usage (ledger = sum over completed steps, API = ledger, JSONL log =
ledger, no duplicate keys, no reservation left), and storage holding exactly
the outputs the steps name (no duplicate objects, nothing half-written, a
valid video)."""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness import ChaosFailure

FINAL = {"completed", "partial", "failed", "cancelled"}
METERED = {"image": "images_generated", "speech": "tts_seconds", "final": "render_minutes"}


@dataclass
class Tenant:
    email: str
    token: str
    id: str


@dataclass
class Verdict:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    states: dict[str, str] = field(default_factory=dict)
    usage_ok: bool = True
    usage_text: str = ""

    def fail(self, message: str, usage: bool = False) -> None:
        self.problems.append(message)
        if usage:
            self.usage_ok = False

    def merge(self, other: "Verdict") -> None:
        self.problems += other.problems
        self.notes += other.notes
        self.states.update(other.states)
        self.usage_ok = self.usage_ok and other.usage_ok
        self.usage_text = self.usage_text or other.usage_text


def rust_round(x: float) -> int:
    """f64::round: half away from zero."""
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checksums(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): sha256(p) for p in sorted(root.rglob("*")) if p.is_file()}


def ffprobe(path: Path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,codec_name:format=duration", "-of", "json",
         str(path)], capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise ValueError(out.stderr.strip() or "ffprobe failed")
    return json.loads(out.stdout)


def whole_file_problem(path: Path) -> str | None:
    """Why a stored object looks half-written, or None."""
    data_size = path.stat().st_size
    if data_size == 0:
        return "is empty"
    name = path.name
    if name.endswith(".png"):
        with open(path, "rb") as f:
            head = f.read(8)
            f.seek(-12, 2)
            tail = f.read()
        if head != b"\x89PNG\r\n\x1a\n" or b"IEND" not in tail:
            return "is not a complete PNG"
    elif name.endswith(".wav"):
        with open(path, "rb") as f:
            head = f.read(12)
        if head[:4] != b"RIFF" or int.from_bytes(head[4:8], "little") + 8 != data_size:
            return "is not a complete WAV (RIFF size does not match the file)"
    elif name.endswith(".mp4"):
        try:
            probe = ffprobe(path)
            if not probe.get("streams"):
                return "has no streams"
        except ValueError as err:
            return f"is not a readable MP4 ({err})"
    elif name.endswith(".json"):
        try:
            json.loads(path.read_bytes())
        except ValueError:
            return "is not complete JSON"
    return None


def verify(cluster, tenants: list[Tenant], project_ids: list[str], allowed: dict[str, set[str]] | None = None,
           jsonl_may_miss: bool = False) -> Verdict:
    """Asserts everything about the final state. `allowed` maps a project id to
    the final statuses it may end in (default: completed)."""
    v = Verdict()
    allowed = allowed or {}
    ids_sql = ", ".join(f"'{p}'" for p in project_ids) or "''"
    tenant_sql = ", ".join(f"'{t.id}'" for t in tenants) or "''"

    # ---------------------------------------------------------------- projects
    projects = {r["id"]: r for r in cluster.q(
        f"SELECT id, tenant_id, status, error, video_key, thumbnail_key, captions_key, srt_key, duration_ms, "
        f"bytes_stored FROM projects WHERE tenant_id IN ({tenant_sql})")}
    for pid in project_ids:
        row = projects.get(pid)
        if row is None:
            v.fail(f"project {pid} is lost (no row)")
            continue
        v.states[pid] = row["status"]
        want = allowed.get(pid, {"completed"})
        if row["status"] not in FINAL:
            v.fail(f"project {pid} is stuck in {row['status']}")
        elif row["status"] not in want:
            v.fail(f"project {pid} ended {row['status']} (expected {'/'.join(sorted(want))}); error: {row['error']}")
        if row["status"] == "failed" and not (row["error"] or "").strip():
            v.fail(f"project {pid} failed without a message")
    for pid in projects:
        if pid not in project_ids:
            v.fail(f"project {pid} exists but the scenario never got it admitted (left by a refused create?)")

    steps = cluster.q(
        f"SELECT id, project_id, kind, scene_index, status, attempts, lease_owner, idempotency_key, output, "
        f"warning, error FROM steps WHERE project_id IN ({ids_sql}) ORDER BY project_id, kind, scene_index")
    by_project: dict[str, list[dict]] = {}
    for s in steps:
        by_project.setdefault(s["project_id"], []).append(s)
        if s["status"] == "running" or s["lease_owner"]:
            v.fail(f"step {s['kind']}#{s['scene_index']} of {s['project_id']} still holds a lease "
                   f"({s['status']}, owner {s['lease_owner']})")
    for pid in project_ids:
        status = v.states.get(pid)
        own = by_project.get(pid, [])
        if not own:
            v.fail(f"project {pid} has no steps")
            continue
        if status in ("completed", "partial"):
            undone = [f"{s['kind']}#{s['scene_index']}={s['status']}" for s in own if s["status"] != "done"]
            if undone:
                v.fail(f"project {pid} is {status} but has unfinished steps: {undone}")
            warned = [s for s in own if s["warning"]]
            if status == "completed" and warned:
                v.fail(f"project {pid} is completed but steps carry warnings")
            if status == "partial" and not warned:
                v.fail(f"project {pid} is partial without a warning")
        elif status == "failed":
            open_steps = [f"{s['kind']}#{s['scene_index']}" for s in own if s["status"] in ("pending", "blocked")]
            if open_steps:
                v.fail(f"failed project {pid} still has queued steps: {open_steps}")

    # ---------------------------------------------------------------- usage
    expected: dict[str, tuple[str, str, int]] = {}  # key -> (tenant, metric, amount)
    for s in steps:
        if s["status"] != "done" or s["kind"] not in METERED:
            continue
        output = json.loads(s["output"] or "{}")
        tenant = projects.get(s["project_id"], {}).get("tenant_id")
        if s["kind"] == "image":
            amount = 1
        elif s["kind"] == "speech":
            amount = rust_round(float(output["duration"]) * 1000.0)
        else:
            amount = int(output["duration_ms"])
        key = f"{s['project_id']}:{s['kind']}:{s['scene_index']}:{s['idempotency_key']}"
        expected[key] = (tenant, METERED[s["kind"]], amount)

    ledger = cluster.q(f"SELECT tenant_id, project_id, metric, amount, idempotency_key FROM usage_ledger "
                       f"WHERE tenant_id IN ({tenant_sql})")
    dup_keys = cluster.q("SELECT idempotency_key, COUNT(*) AS n FROM usage_ledger GROUP BY idempotency_key "
                         "HAVING COUNT(*) > 1")
    if dup_keys:
        v.fail(f"duplicate usage rows by idempotency key: {dup_keys}", usage=True)
    units: dict[str, list[str]] = {}
    for row in ledger:
        key = row["idempotency_key"]
        unit = ":".join(key.split(":")[:3])
        units.setdefault(unit, []).append(key)
        want = expected.get(key)
        if want is None:
            v.fail(f"usage row {key} ({row['metric']} {row['amount']}) matches no completed step", usage=True)
        elif (row["tenant_id"], row["metric"], int(row["amount"])) != want:
            v.fail(f"usage row {key} is {row['tenant_id']}/{row['metric']}/{row['amount']}, expected {want}",
                   usage=True)
    for unit, keys in units.items():
        if len(keys) > 1:
            v.fail(f"one unit of work billed {len(keys)} times: {unit} -> {keys}", usage=True)
    ledger_keys = {r["idempotency_key"] for r in ledger}
    for key in expected.keys() - ledger_keys:
        v.fail(f"completed step {key} has no usage row", usage=True)

    reserved = cluster.q(f"SELECT project_id FROM usage_reservations WHERE project_id IN ({ids_sql})")
    for r in reserved:
        if v.states.get(r["project_id"]) in FINAL:
            v.fail(f"finished project {r['project_id']} still holds a usage reservation", usage=True)

    totals_text = []
    for t in tenants:
        want = {m: 0 for m in METERED.values()}
        for tenant, metric, amount in expected.values():
            if tenant == t.id:
                want[metric] += amount
        stored = sum(int(p["bytes_stored"] or 0) for p in projects.values() if p["tenant_id"] == t.id)
        totals_text.append(f"{want['images_generated']} img, {want['tts_seconds'] / 1000:.2f} s tts, "
                           f"{want['render_minutes'] / 60000:.2f} min")
        shown_want = {
            "images_generated": float(want["images_generated"]),
            "tts_seconds": want["tts_seconds"] / 1000.0,
            "render_minutes": want["render_minutes"] / 60000.0,
            "storage_mb": stored / 1e6,
        }
        # The API's usage cache trusts an answer for one second: look a few times.
        mismatch = []
        for _ in range(6):
            answer = cluster.api.get("/api/usage", t.token)
            metrics = (answer.json() or {}).get("metrics", {}) if answer.status == 200 else {}
            mismatch = []
            for metric, value in shown_want.items():
                used = (metrics.get(metric) or {}).get("used")
                if used is None or abs(float(used) - value) > 0.0051 + 1e-9:
                    mismatch.append(f"{metric}: API {used}, expected {value:.4f}")
            if not mismatch:
                break
            time.sleep(0.5)
        if mismatch:
            v.fail(f"/api/usage of {t.email} does not match the completed steps: {mismatch}", usage=True)

        # JSONL log: one line per ledger row, never two.
        lines = []
        folder = cluster.usage_log_dir / t.id
        if folder.is_dir():
            for path in sorted(folder.glob("*.jsonl")):
                for line in path.read_text().splitlines():
                    try:
                        lines.append(json.loads(line))
                    except ValueError:
                        v.fail(f"torn line in the usage log {path.name}: {line[:80]!r}", usage=True)
        seen: dict[str, int] = {}
        for entry in lines:
            seen[entry.get("key")] = seen.get(entry.get("key"), 0) + 1
        dups = {k: n for k, n in seen.items() if n > 1}
        if dups:
            v.fail(f"usage log of {t.email} has duplicate lines: {dups}", usage=True)
        tenant_ledger = {r["idempotency_key"] for r in ledger if r["tenant_id"] == t.id}
        extra = set(seen) - tenant_ledger
        if extra:
            v.fail(f"usage log of {t.email} has lines the ledger lacks: {sorted(extra)}", usage=True)
        missing = tenant_ledger - set(seen)
        if missing:
            message = f"usage log of {t.email} lacks {len(missing)} ledger row(s): {sorted(missing)}"
            if jsonl_may_miss:
                v.notes.append(message + " (a process was killed between commit and append; "
                               "`reelforge admin usage-log --rebuild` restores it)")
            else:
                v.fail(message, usage=True)
    v.usage_text = "; ".join(totals_text)

    # ---------------------------------------------------------------- storage
    root = cluster.storage_root
    for pid in project_ids:
        row = projects.get(pid)
        if not row:
            continue
        prefix = root / "tenants" / row["tenant_id"] / "projects" / pid
        wanted = {f"tenants/{row['tenant_id']}/projects/{pid}/script.txt"}
        for s in by_project.get(pid, []):
            if s["status"] != "done":
                continue
            output = json.loads(s["output"] or "{}")
            if s["kind"] in ("image", "segment", "audio"):
                wanted.add(output["key"])
            elif s["kind"] == "speech":
                wanted.add(output["key"])
                wanted.add(output["key"][: -len(".wav")] + ".json")
            elif s["kind"] == "final":
                for k in ("video_key", "thumbnail_key", "captions_key", "srt_key"):
                    if row.get(k):
                        wanted.add(row[k])
        present = {str(p.relative_to(root)): p for p in prefix.rglob("*") if p.is_file()} if prefix.is_dir() else {}
        staging = {k for k in present if "#" in Path(k).name}
        for k in sorted(staging):
            v.fail(f"half-written staging file left in storage: {k}")
        objects = set(present) - staging
        for k in sorted(objects - wanted):
            v.fail(f"storage object no completed step names (duplicate or orphan output): {k}")
        for k in sorted(wanted - objects):
            v.fail(f"output named by a completed step is missing from storage: {k}")
        for k in sorted(objects & wanted):
            problem = whole_file_problem(present[k])
            if problem:
                v.fail(f"stored object {k} {problem}")
        finals = {Path(k).parts[-2] for k in objects if "/output/" in k}
        if len(finals) > 1:
            v.fail(f"project {pid} has {len(finals)} final output sets: {sorted(finals)}")

        if row["status"] in ("completed", "partial"):
            size = sum(p.stat().st_size for k, p in present.items() if k in objects)
            if int(row["bytes_stored"] or 0) != size:
                v.fail(f"project {pid} bytes_stored={row['bytes_stored']} but its prefix holds {size} bytes",
                       usage=True)
            video = root / (row["video_key"] or "missing")
            try:
                probe = ffprobe(video)
                codecs = sorted(f"{s['codec_type']}:{s['codec_name']}" for s in probe.get("streams", []))
                duration = float(probe.get("format", {}).get("duration", 0))
                if codecs != ["audio:aac", "video:h264"]:
                    v.fail(f"video of {pid} has streams {codecs}")
                if abs(duration - (row["duration_ms"] or 0) / 1000) > 0.5:
                    v.fail(f"video of {pid} lasts {duration:.2f} s, project says {row['duration_ms']} ms")
            except (ValueError, OSError) as err:
                v.fail(f"video of {pid} is not valid: {err}")
            tenant = next((t for t in tenants if t.id == row["tenant_id"]), None)
            if tenant:
                answer = cluster.api.get(f"/api/v1/projects/{pid}/video", tenant.token, timeout=60)
                if answer.status != 200 or hashlib.sha256(answer.body).hexdigest() != sha256(video):
                    v.fail(f"GET video of {pid} answered {answer.status} with other bytes than stored")
                view = cluster.project(tenant.token, pid)
                if view.get("status") != row["status"]:
                    v.fail(f"API shows {pid} as {view.get('status')}, database as {row['status']}")
                if row["status"] == "partial" and not view.get("warnings"):
                    v.fail(f"partial project {pid} lists no warnings at the API")
    check_work_dirs(cluster, v)
    for proc in [cluster.serve, *cluster.workers]:
        if proc is None:
            continue
        if not proc.on_purpose and not proc.alive():
            v.fail(f"{proc.name} exited on its own (exit {proc.popen.returncode}); see {proc.log_path}")
        panics = [line for line in proc.log_text().splitlines() if "panicked" in line]
        if panics:
            v.fail(f"{proc.name} panicked: {panics[0][:300]}")
    return v


def check_work_dirs(cluster, v: Verdict) -> None:
    """Once everything has finished, no worker's DATA_DIR/work may still hold a
    step's scratch directory: a crash must not leak disk for ever."""
    def leftovers():
        found = []
        for data_dir in sorted({w.data_dir for w in cluster.workers}):
            work = data_dir / "work"
            if work.is_dir():
                found += sorted(work.iterdir())
        return found

    for _ in range(6):  # a worker may be removing its last step's directory right now
        if not leftovers():
            return
        time.sleep(0.5)
    found = []
    for entry in leftovers():
        size = sum(p.stat().st_size for p in entry.rglob("*") if p.is_file()) if entry.is_dir() else 0
        found.append(f"{entry.relative_to(cluster.run.root)} ({size // 1024} KiB)")
    if found:
        v.fail(f"{len(found)} stale step scratch director{'y' if len(found) == 1 else 'ies'} left in workers' "
               f"DATA_DIR after every step finished (nothing clears $DATA_DIR/work of a killed worker, not even "
               f"its restart): {', '.join(found)}")


def require(verdict: Verdict) -> None:
    if verdict.problems:
        raise ChaosFailure("; ".join(verdict.problems[:12]) + (
            f" (+{len(verdict.problems) - 12} more)" if len(verdict.problems) > 12 else ""))
