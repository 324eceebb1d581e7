"""The five chaos scenarios. Each builds its own deployment, injects its
failure, waits for every project to finish, and hands the final state to
`checks.verify`. A scenario returns a `Verdict`; it raises `ChaosFailure`
when something goes wrong before the final checks, and `Skip` when the
machine cannot run it."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from checks import Tenant, Verdict, checksums, verify
from cluster import Cluster, script_for
from fakes import ImageProvider
from harness import ChaosFailure, PrivatePostgres, Run, log, shared_database, wait_until

ANSI = re.compile(r"\x1b\[[0-9;]*m")


class Skip(Exception):
    """The scenario cannot run here (e.g. mounting is not permitted)."""


@dataclass
class Options:
    full: bool

    def pick(self, short, full):
        return full if self.full else short


def sign_in(cluster: Cluster, name: str) -> Tenant:
    address = f"{name}-{cluster.run.token}@chaos.test"
    token = cluster.sign_in(address)
    return Tenant(address, token, cluster.tenant_of(token))


def log_lines(proc, *needles: str) -> list[str]:
    """Lines of a process's log containing every needle."""
    text = ANSI.sub("", proc.log_text())
    return [line for line in text.splitlines() if all(n in line for n in needles)]


def pick_running_step(cluster: Cluster, kinds=("segment", "final")):
    """A step that is running now, held by one of our live worker processes."""
    for step in cluster.running_steps(kinds):
        worker = cluster.worker_by_pid(cluster.owner_pid(step["lease_owner"]) or -1)
        if worker and worker.alive():
            return step, worker
    return None


def finished_by(cluster: Cluster, step_id: str) -> list[str]:
    """Names of the worker processes whose log says they finished `step_id`;
    cross-checked with `steps.finished_by` where the schema has it."""
    by_log = [w.name for w in cluster.workers if log_lines(w, step_id, "step done")]
    has_column = cluster.q("SELECT 1 FROM information_schema.columns WHERE table_name = 'steps' "
                           "AND column_name = 'finished_by'")
    if has_column:
        owner = cluster.q(f"SELECT finished_by FROM steps WHERE id = '{step_id}'")[0]["finished_by"]
        worker = cluster.worker_by_pid(cluster.owner_pid(owner) or -1)
        by_db = worker.name if worker else f"unknown owner {owner!r}"
        if by_log != [by_db]:
            return [*by_log, f"{by_db} (steps.finished_by)"]
    return by_log


# =============================================================================== 1


def kill_worker(run: Run, opts: Options) -> Verdict:
    """kill -9 a worker mid-step: its lease expires, another worker finishes,
    no duplicate output or usage."""
    cluster = Cluster(run, "kill-9", shared_database(run, "kill9"), lease_seconds=3)
    cluster.start_serve()
    for _ in range(2):
        cluster.start_worker(1)
    tenant = sign_in(cluster, "kill9")
    # Slow ffmpeg (and, for a speech round, espeak-ng) down so that steps last
    # long enough to be hit mid-way.
    cluster.set_delay("ffmpeg", 2)
    projects = [cluster.create_project(tenant.token, f"kill-9 {i}", script_for(i, 3))
                for i in range(opts.pick(2, 3))]
    rounds = opts.pick(["segment"], ["segment", "final", "speech", "segment"])
    victims = []
    orphan_notes: list[str] = []
    for round_, kind in enumerate(rounds):
        if round_ > 0:
            projects.append(cluster.create_project(tenant.token, f"kill-9 round {round_}",
                                                   script_for(20 + round_, 3)))
        if kind == "speech":
            cluster.set_delay("espeak-ng", 1.5)
        step, worker = wait_until(f"a {kind} step running on a worker", lambda: pick_running_step(cluster, (kind,)),
                                  120, 0.05)
        log(f"kill -9 {worker.name} (pid {worker.pid}) while it runs {step['kind']}#{step['scene_index']} "
            f"(step {step['id']}, try {step['attempts']})")
        worker.kill9()
        victims.append((step, worker))
        time.sleep(0.3)
        # The worker's children die with it (PR_SET_PDEATHSIG): a stuck ffmpeg
        # must not outlive the worker whose timeout would have stopped it. The
        # suite's wrapper may leave its own `sleep` (a grandchild) for its delay.
        orphans = [(pid, cmd) for pid, cmd in run.processes_with("CHAOS_PROC", worker.name.split("/")[-1])
                   if Path(cmd.split(" ")[0]).name != "sleep"]
        if orphans:
            programs = sorted({Path(cmd.split(" ")[0]).name for _, cmd in orphans})
            orphan_notes.append(f"{len(orphans)} child process(es) of killed {worker.name} kept running "
                                f"({', '.join(programs)})")
        cluster.set_delay("espeak-ng", 0)
        # Another worker takes the step over once the lease expires; then a
        # supervisor restarts the killed worker on its own data directory.
        wait_until(f"another worker to take over step {step['id']}", lambda: cluster.q(
            f"SELECT 1 FROM steps WHERE id = '{step['id']}' AND attempts > {int(step['attempts'])} "
            f"AND (status = 'done' OR lease_owner <> '{step['lease_owner']}')"), 60, 0.1)
        cluster.start_worker(1, data_dir=worker.data_dir)
    cluster.set_delay("ffmpeg", 0)
    statuses = cluster.wait_finished(projects, 180)
    log(f"final states: {statuses}")

    v = verify(cluster, [tenant], projects, jsonl_may_miss=True)
    for step, worker in victims:
        row = cluster.q(f"SELECT status, attempts, lease_owner FROM steps WHERE id = '{step['id']}'")[0]
        if row["status"] != "done":
            v.fail(f"the killed worker's step {step['id']} ended {row['status']}")
        if int(row["attempts"]) < int(step["attempts"]) + 1:
            v.fail(f"step {step['id']} was not taken over (attempts {row['attempts']})")
        by = finished_by(cluster, step["id"])
        if worker.name in by or not by:
            v.fail(f"step {step['id']} of killed {worker.name} was finished by {by or 'nobody (no log line)'}")
        else:
            v.notes.append(f"{step['kind']} step of killed {worker.name} finished by {', '.join(by)} "
                           f"on try {row['attempts']}")
    reaped = sum(len(log_lines(w, "took back steps whose worker stopped")) for w in cluster.workers)
    if reaped == 0:
        v.fail("no worker logged taking back an expired lease")
    for note in orphan_notes:
        v.fail(note)
    return v


# =============================================================================== 2


def postgres_restart(run: Run, opts: Options) -> Verdict:
    """Restart a private PostgreSQL while work runs: API and workers reconnect,
    nothing is lost."""
    pg = PrivatePostgres(run, run.logs)
    pg.start()
    cluster = Cluster(run, "pg-restart", pg.create_database("reelforge"), lease_seconds=3)
    cluster.start_serve()
    for _ in range(2):
        cluster.start_worker(1)
    tenant = sign_in(cluster, "pgrestart")
    cluster.set_delay("ffmpeg", 1)
    projects = [cluster.create_project(tenant.token, f"pg {i}", script_for(i, 3)) for i in range(opts.pick(2, 4))]
    # (shutdown mode, seconds down, kind of step that must be running): the
    # last full-mode outage outlasts the 3 s lease, during final steps.
    outages = opts.pick([("fast", 2.5, "any")], [("fast", 2.5, "any"), ("immediate", 2.5, "any"),
                                                 ("fast", 8, "final")])
    v_notes: list[str] = []
    for mode, down_seconds, running_kind in outages:
        kind_sql = "" if running_kind == "any" else f" AND kind = '{running_kind}'"
        wait_until(f"work in flight (a step done and a{'' if running_kind == 'any' else ' ' + running_kind} step "
                   f"running)", lambda: cluster.q(
            f"SELECT 1 WHERE EXISTS (SELECT 1 FROM steps WHERE status = 'done' AND project_id IN "
            f"({', '.join(repr(p) for p in projects)})) AND EXISTS (SELECT 1 FROM steps WHERE status = 'running'"
            f"{kind_sql})"), 120, 0.1)
        log(f"stopping PostgreSQL ({mode}) mid-render for {down_seconds:g} s")
        pg.stop(mode)
        down_at = time.monotonic()
        live = cluster.api.get("/healthz", timeout=5)
        if live.status != 200:
            raise ChaosFailure(f"/healthz answered {live.status} while the database was down (liveness must not "
                               f"depend on it)")
        asked = time.monotonic()
        try:
            ready = cluster.api.get("/readyz", timeout=3).status
        except OSError:
            ready = "no answer within 3 s"
        if ready != 503:
            raise ChaosFailure(f"/readyz gave {ready} while the database was down (a probe must say 503 promptly)")
        v_notes.append(f"{mode} stop: /readyz gave {ready} after {time.monotonic() - asked:.1f} s")
        time.sleep(max(0.0, down_seconds - (time.monotonic() - down_at)))
        pg.start()
        log("PostgreSQL is back")
        wait_until("/readyz to answer 200 again (API reconnected)",
                   lambda: cluster.api.get("/readyz", timeout=5).status == 200, 60, 0.5)
        # New work is admitted after the restart and reaches the workers.
        projects.append(cluster.create_project(tenant.token, f"pg after {mode}", script_for(10 + len(projects), 2)))
    cluster.set_delay("ffmpeg", 0)
    statuses = cluster.wait_finished(projects, 240)
    log(f"final states: {statuses}")
    v = verify(cluster, [tenant], projects)  # also fails when a process exited during the restart
    retried = cluster.q("SELECT COUNT(*) AS n FROM steps WHERE attempts > 1")[0]["n"]
    v.notes += v_notes
    v.notes.append(f"{len(outages)} restart(s); {retried} step(s) needed another try")
    return v


# =============================================================================== 3


def mount_tmpfs(run: Run, path, size: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    out = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise Skip(f"cannot mount a tmpfs here ({out.stderr.strip() or 'mount failed'}); run as root to test a "
                   f"full disk")

    def unmount():
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)

    run.on_cleanup(f"unmount {path}", unmount)


def fill(path, leave_bytes: int) -> int:
    """Fills the file system of `path` until `leave_bytes` are free (0: full)."""
    filler = path / "filler.bin"
    written = 0
    with open(filler, "ab") as f:
        while True:
            free = shutil.disk_usage(path).free
            want = free - leave_bytes
            if want <= 0:
                break
            try:
                f.write(b"\0" * min(want, 1 << 20))
                f.flush()
                written += min(want, 1 << 20)
            except OSError:
                break
    return written


def disk_full(run: Run, opts: Options) -> Verdict:
    """A small tmpfs as the storage root fills: a create answers 507, a render
    fails its step with a message, earlier outputs stay intact; after freeing
    space a retry succeeds."""
    media = run.root / "disk-full-media"
    mount_tmpfs(run, media, "8m")
    cluster = Cluster(run, "disk-full", shared_database(run, "diskfull"), storage_root=media / "store",
                      lease_seconds=3)
    cluster.start_serve()
    for _ in range(2):
        cluster.start_worker(1)
    tenant = sign_in(cluster, "diskfull")

    first = [cluster.create_project(tenant.token, f"before full {i}", script_for(i, 2))
             for i in range(opts.pick(1, 2))]
    cluster.wait_finished(first, 120)
    before = checksums(cluster.storage_root)
    log(f"{len(before)} objects stored before the disk fills "
        f"({sum((cluster.storage_root / k).stat().st_size for k in before) // 1024} KiB)")

    fill(media, 0)
    refused = cluster.api.post("/api/v1/projects", {"title": "full", "script": script_for(7, 2),
                                                    "template_id": "explainer"}, tenant.token)
    if refused.status != 507:
        raise ChaosFailure(f"creating a project on a full disk answered {refused} (expected 507)")
    if "application/problem+json" not in (refused.headers.get("Content-Type") or ""):
        raise ChaosFailure(f"the 507 is not problem+json: {refused.headers.get('Content-Type')}")
    log("create on a full disk: 507 Insufficient Storage")

    # Room for the script, not for the media: the render's steps fail.
    (media / "filler.bin").unlink()
    fill(media, 48 * 1024)
    doomed = cluster.create_project(tenant.token, "fills the disk", script_for(8, 2))
    statuses = cluster.wait_finished([doomed], 120)
    row = cluster.q(f"SELECT status, error FROM projects WHERE id = '{doomed}'")[0]
    log(f"render on a nearly full disk: {row['status']} ({row['error']})")
    if row["status"] != "failed" or "storage is full" not in (row["error"] or ""):
        raise ChaosFailure(f"a render on a full disk ended {statuses[doomed]} with {row['error']!r} "
                           f"(expected failed, 'storage is full')")
    after = checksums(cluster.storage_root)
    changed = [k for k, digest in before.items() if after.get(k) != digest]
    if changed:
        raise ChaosFailure(f"earlier outputs changed or vanished while the disk was full: {changed}")

    (media / "filler.bin").unlink()
    answer = cluster.api.post(f"/api/v1/projects/{doomed}/retry", {}, tenant.token)
    if answer.status != 202:
        raise ChaosFailure(f"retry after freeing space answered {answer}")
    cluster.wait_finished([doomed], 120)
    projects = [*first, doomed]
    notes = ["507 on create; failed render with 'storage is full'; earlier outputs intact; retry completed"]

    if opts.full:
        # The disk fills in the middle of a render: images and speech are
        # stored, the segments cannot be. The retry reuses what was stored.
        cluster.set_delay("ffmpeg", 3)
        midway = cluster.create_project(tenant.token, "fills mid-render", script_for(30, 2))
        wait_until("the mid-render project's images and speech to be stored", lambda: cluster.q(
            f"SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM steps WHERE project_id = '{midway}' "
            f"AND kind IN ('image', 'speech') AND status <> 'done')"), 60, 0.1)
        stored = checksums(cluster.storage_root)
        fill(media, 0)
        log("disk filled while the segments render")
        cluster.set_delay("ffmpeg", 0)
        cluster.wait_finished([midway], 120)
        row = cluster.q(f"SELECT status, error FROM projects WHERE id = '{midway}'")[0]
        if row["status"] != "failed" or "storage is full" not in (row["error"] or ""):
            raise ChaosFailure(f"a render whose disk filled mid-way ended {row['status']} with {row['error']!r}")
        now = checksums(cluster.storage_root)
        changed = [k for k, digest in stored.items() if k != "filler.bin" and now.get(k) != digest]
        if changed:
            raise ChaosFailure(f"outputs stored before the disk filled changed: {changed}")
        (media / "filler.bin").unlink()
        answer = cluster.api.post(f"/api/v1/projects/{midway}/retry", {}, tenant.token)
        if answer.status != 202:
            raise ChaosFailure(f"retry of the mid-render project answered {answer}")
        cluster.wait_finished([midway], 120)
        reused = cluster.q(f"SELECT COUNT(*) AS n FROM steps WHERE project_id = '{midway}' "
                           f"AND kind IN ('image', 'speech') AND attempts = 1")[0]["n"]
        projects.append(midway)
        notes.append(f"disk filled mid-render: segments failed, {reused} stored image/speech outputs kept "
                     f"and reused by the retry")

    final = checksums(cluster.storage_root)
    changed = [k for k, digest in before.items() if final.get(k) != digest]
    v = verify(cluster, [tenant], projects)
    if changed:
        v.fail(f"earlier outputs changed after the retry: {changed}")
    v.notes += notes
    return v


# =============================================================================== 4


def provider_hang(run: Run, opts: Options) -> Verdict:
    """An images API that hangs past IMAGE_TIMEOUT_SECONDS: the step times out,
    is retried, falls back to the offline illustration; project partial."""
    provider = ImageProvider(run, hang_words=("slowpoke",), flaky_words=("hiccup",))
    timeout = 2
    cluster = Cluster(run, "provider-hang", shared_database(run, "hang"), lease_seconds=3, extra_env={
        "IMAGE_PROVIDER": "openai",
        "IMAGE_API_BASE": provider.base,
        "IMAGE_API_KEY": "chaos-test-key",
        "IMAGE_TIMEOUT_SECONDS": str(timeout),
    })
    cluster.start_serve()
    for _ in range(2):
        cluster.start_worker(1)
    tenant = sign_in(cluster, "hang")
    hanging = cluster.create_project(tenant.token, "hangs", script_for(1, 3, marker="slowpoke"))
    healthy = cluster.create_project(tenant.token, "healthy", script_for(4, 2))
    projects = [hanging, healthy]
    allowed = {hanging: {"partial"}}
    flaky = None
    if opts.full:
        flaky = cluster.create_project(tenant.token, "hiccup", script_for(6, 2, marker="hiccup"))
        projects.append(flaky)
    statuses = cluster.wait_finished(projects, 150)
    log(f"final states: {statuses}")
    v = verify(cluster, [tenant], projects, allowed)

    image = cluster.q(f"SELECT attempts, warning, idempotency_key FROM steps WHERE project_id = '{hanging}' "
                      f"AND kind = 'image' AND scene_index = 1")[0]
    if int(image["attempts"]) != 3:
        v.fail(f"the hanging image step ran {image['attempts']} times (expected 3 tries)")
    if f"did not answer within {timeout} s" not in (image["warning"] or ""):
        v.fail(f"the hanging image step's warning does not name the timeout: {image['warning']!r}")
    calls = provider.calls_for("slowpoke")
    if calls != 3:
        v.fail(f"the provider was asked {calls} times for the hanging scene (expected 3)")
    view = cluster.project(tenant.token, hanging)
    # Script scenes are `auto`: after the provider's last try they are illustrated.
    if not any("an illustration was used instead" in w for w in view.get("warnings", [])):
        v.fail(f"the partial project's warnings do not mention the fallback: {view.get('warnings')}")
    with provider.lock:
        repeated = {p[-40:]: n for p, n in provider.answered.items() if n > 1}
    if repeated:
        v.fail(f"images the provider delivered were asked for again: {repeated}")
    if flaky:
        calls = provider.calls_for("hiccup")
        if calls != 2:
            v.fail(f"the provider was asked {calls} times for the flaky scene (expected 2: a timeout, then success)")
    v.notes.append(f"hanging scene: {image['attempts']} tries, fallback illustration, warning shown")
    return v


# =============================================================================== 5


def sigterm(run: Run, opts: Options) -> Verdict:
    """SIGTERM a worker during a render: it drains (finishes or releases its
    step, claims nothing new, exits 0); a restarted worker finishes the rest."""
    cluster = Cluster(run, "sigterm", shared_database(run, "sigterm"), lease_seconds=3)
    cluster.start_serve()
    for _ in range(2):
        cluster.start_worker(1)
    tenant = sign_in(cluster, "sigterm")
    cluster.set_delay("ffmpeg", 2)
    projects = [cluster.create_project(tenant.token, f"sigterm {i}", script_for(i, 3))
                for i in range(opts.pick(2, 3))]
    v = Verdict()
    # A render shorter than the worker's 20 s drain is finished by the stopping
    # worker; a longer one (this worker's ffmpeg made to take 26 s) is released
    # to another worker.
    rounds = opts.pick([(None, "finished")], [(None, "finished"), (26, "released")])
    victims = []
    for delay, outcome in rounds:
        if delay is None:
            step, worker = wait_until("a segment or final step running on a worker",
                                      lambda: pick_running_step(cluster), 90, 0.1)
        else:
            worker = next(w for w in reversed(cluster.workers) if w.alive())
            since = int(time.time() * 1000)
            cluster.set_delay("ffmpeg", delay, worker)

            def slow_step():
                found = pick_running_step(cluster, ("segment", "final"))
                return found if found and found[1] is worker and int(found[0]["started_at"]) >= since else None

            step, worker = wait_until(f"{worker.name} to start a slowed render", slow_step, 120, 0.1)
        log(f"SIGTERM {worker.name} (pid {worker.pid}) while it runs {step['kind']}#{step['scene_index']} "
            f"(expect the step {outcome})")
        term_at = time.monotonic()
        worker.term()
        claimed_after = set()
        while worker.alive() and time.monotonic() - term_at < 40:
            try:
                for s in cluster.running_steps():
                    if cluster.owner_pid(s["lease_owner"]) == worker.pid and s["id"] != step["id"]:
                        claimed_after.add(s["id"])
            except RuntimeError:
                pass
            time.sleep(0.2)
        code = worker.wait(5)
        took = time.monotonic() - term_at
        if code is None:
            v.fail(f"{worker.name} did not exit within {took:.0f} s of SIGTERM")
            worker.kill9()
        elif code != 0:
            v.fail(f"{worker.name} exited with {code} after SIGTERM")
        if claimed_after:
            v.fail(f"{worker.name} claimed new steps after SIGTERM: {sorted(claimed_after)}")
        row = cluster.q(f"SELECT status, lease_owner, attempts FROM steps WHERE id = '{step['id']}'")[0]
        if cluster.owner_pid(row["lease_owner"]) == worker.pid:
            v.fail(f"{worker.name} exited still holding the lease of step {step['id']}")
        finished = bool(log_lines(worker, step["id"], "step done"))
        released = bool(log_lines(worker, step["id"], "releasing the step"))
        got = "finished" if finished else "released" if released else "neither"
        log(f"{worker.name} exited {code} after {took:.1f} s; its step was {got} (now {row['status']})")
        if got != outcome:
            v.fail(f"after SIGTERM the step was {got}, expected {outcome}")
        if got == "released" and row["status"] not in ("pending", "running", "done"):
            v.fail(f"the released step is {row['status']}")
        v.notes.append(f"SIGTERM during a {step['kind']} render: step {got}, exit {code} after {took:.1f} s")
        victims.append((step, worker, got))
        cluster.set_delay("ffmpeg", 0)
        cluster.start_worker(1)  # the restarted worker
    statuses = cluster.wait_finished(projects, 180)
    log(f"final states: {statuses}")
    v.merge(verify(cluster, [tenant], projects))
    for step, worker, got in victims:
        row = cluster.q(f"SELECT status, attempts FROM steps WHERE id = '{step['id']}'")[0]
        if row["status"] != "done":
            v.fail(f"step {step['id']} of the stopped worker ended {row['status']}")
        if got == "released":
            by = finished_by(cluster, step["id"])
            if not by or worker.name in by:
                v.fail(f"the released step {step['id']} was finished by {by or 'nobody'}")
            elif int(row["attempts"]) != int(step["attempts"]):
                v.fail(f"releasing counted a try: attempts {step['attempts']} -> {row['attempts']}")
            else:
                v.notes.append(f"released step finished by {', '.join(by)}; the release did not count a try")
    return v


SCENARIOS = [
    ("kill-9", kill_worker),
    ("pg-restart", postgres_restart),
    ("disk-full", disk_full),
    ("provider-hang", provider_hang),
    ("sigterm", sigterm),
]

__all__ = ["SCENARIOS", "Options", "Skip"]
