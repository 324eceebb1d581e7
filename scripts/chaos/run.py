#!/usr/bin/env python3
"""Reelforge chaos suite (issue 8).

    scripts/chaos.sh --short        # the form `make test` runs
    scripts/chaos.sh                # `make chaos`: every scenario, more projects, more repetitions
    scripts/chaos.sh --only kill-9,sigterm --keep

Each scenario starts its own `reelforge serve` (WORKER_CONCURRENCY=0) and
`reelforge worker` processes on PostgreSQL, injects one failure, and asserts
the final state of every project, exact usage, and the stored outputs.
Logs go to test-output/chaos/. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import traceback
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))

from checks import require  # noqa: E402
from harness import OUTPUT, REPO, ChaosFailure, Run, log, psql, PG_ADMIN  # noqa: E402
from scenarios import SCENARIOS, Options, Skip  # noqa: E402


def build() -> Path:
    log("building the reelforge binary (cargo build --locked --bin reelforge)")
    started = time.monotonic()
    subprocess.run(["cargo", "build", "--locked", "--bin", "reelforge"], cwd=REPO, check=True)
    meta = subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=REPO, check=True,
                          capture_output=True, text=True)
    binary = Path(json.loads(meta.stdout)["target_directory"]) / "debug" / "reelforge"
    if not binary.is_file():
        raise SystemExit(f"built, but {binary} is missing")
    log(f"built {binary} in {time.monotonic() - started:.0f} s")
    return binary


def preflight() -> None:
    missing = [tool for tool in ("psql", "ffmpeg", "ffprobe", "espeak-ng", "cargo") if not shutil.which(tool)]
    if missing:
        raise SystemExit(f"chaos: missing tools: {', '.join(missing)} (run scripts/ensure-deps.sh test)")
    try:
        psql(PG_ADMIN, "SELECT 1", timeout=10)
    except Exception as err:  # noqa: BLE001
        raise SystemExit(f"chaos: PostgreSQL at 127.0.0.1:5432 is not reachable as postgres: {err}")


def table(rows: list[list[str]]) -> str:
    header = ["scenario", "projects", "final states", "usage", "duration", "result"]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    out = [line, "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |", line]
    for r in rows:
        out.append("| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |")
    out.append(line)
    return "\n".join(out)


def summarise_states(states: dict[str, str]) -> str:
    counts: dict[str, int] = {}
    for status in states.values():
        counts[status] = counts.get(status, 0) + 1
    return ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", action="store_true", help="the quick form (make test)")
    parser.add_argument("--only", help="comma-separated scenario names: " + ", ".join(n for n, _ in SCENARIOS))
    parser.add_argument("--keep", action="store_true", help="keep the temporary directories")
    parser.add_argument("--no-build", action="store_true", help="use the existing debug binary")
    parser.add_argument("--repeat", type=int, help="runs of each scenario (default: 1 with --short, else 2)")
    args = parser.parse_args()

    wanted = [n.strip() for n in args.only.split(",")] if args.only else [n for n, _ in SCENARIOS]
    unknown = set(wanted) - {n for n, _ in SCENARIOS}
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")

    preflight()
    if args.no_build:
        meta = subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=REPO, check=True,
                              capture_output=True, text=True)
        binary = Path(json.loads(meta.stdout)["target_directory"]) / "debug" / "reelforge"
    else:
        binary = build()

    shutil.rmtree(OUTPUT, ignore_errors=True)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    opts = Options(full=not args.short)
    mode = "short" if args.short else "full"
    log(f"chaos suite ({mode}): {', '.join(wanted)}; logs in {OUTPUT.relative_to(REPO)}")
    started_all = time.monotonic()
    rows, failures, report = [], 0, []
    repeat = args.repeat or (1 if args.short else 2)
    plan = [(f"{name}" + (f" #{i + 1}" if repeat > 1 else ""), scenario)
            for i in range(repeat) for name, scenario in SCENARIOS if name in wanted]
    for name, scenario in plan:
        log(f"=== {name}")
        started = time.monotonic()
        run = Run(binary, name.replace(" #", "-"), keep=args.keep)
        states, usage, result, detail, notes = {}, "-", "PASS", "", []
        try:
            verdict = scenario(run, opts)
            states, notes = verdict.states, verdict.notes
            usage = ("exact" if verdict.usage_ok else "WRONG") + (f" ({verdict.usage_text})" if verdict.usage_text
                                                                  else "")
            require(verdict)
        except Skip as skip:
            result, detail = "SKIP", str(skip)
        except ChaosFailure as err:
            result, detail = "FAIL", str(err)
        except Exception as err:  # noqa: BLE001 - a crash of the driver fails the scenario too
            result, detail = "FAIL", f"{type(err).__name__}: {err}\n{traceback.format_exc()}"
        finally:
            run.cleanup()
        took = time.monotonic() - started
        if result == "FAIL":
            failures += 1
        rows.append([name, str(len(states)), summarise_states(states), usage, f"{took:.0f} s", result])
        for note in notes:
            log(f"  note: {note}")
        if detail:
            log(f"  {result}: {detail}")
        log(f"=== {name}: {result} in {took:.0f} s")
        report.append({"scenario": name, "result": result, "seconds": round(took, 1), "states": states,
                       "usage": usage, "detail": detail, "notes": notes})

    total = time.monotonic() - started_all
    summary = table(rows)
    print()
    print(f"Chaos suite ({mode}) finished in {total:.0f} s")
    print(summary)
    (OUTPUT / "summary.txt").write_text(f"Chaos suite ({mode}), {total:.0f} s\n{summary}\n" + "".join(
        f"\n{r['scenario']}: {r['result']}\n  " + "\n  ".join([*r["notes"], r["detail"]]).rstrip() + "\n"
        for r in report))
    (OUTPUT / "summary.json").write_text(json.dumps({"mode": mode, "seconds": round(total, 1), "scenarios": report},
                                                    indent=2))
    if failures:
        print(f"{failures} scenario(s) failed; logs in {OUTPUT}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    os.umask(0o022)
    sys.exit(main())
