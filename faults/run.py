"""`make faults`: start two uvicorn workers behind a private nginx on a private Redis and a fresh
PostgreSQL database, inject faults, and print one verdict per check:

    PASS <name>: <figures>
    FAIL <name>: <figures> -- <why>

Exit status 1 if any check failed (or the stack could not be set up). Whatever happens, every process
started here is stopped by its PID and the database is dropped. `--only storm,ghosts` (make faults
ONLY=storm,ghosts) runs some checks alone. faults/README.md describes each check and its thresholds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from faults.checks import CHECKS, COMPANIES
from faults.client import now
from faults.harness import CheckFailed, Ctx, Figures, Result
from faults.stack import Stack, raise_nofile

TOTAL_BUDGET = 570.0  # seconds for all checks; one that would start later is a FAIL "not run"
# The contract's numbering (README) is 1-9 in CHECKS order; they run in this order so that the
# storm, which leaves the workers busy for a while, comes after the checks that need a calm stack,
# and the ghosts check comes last, after every fault.
RUN_ORDER = ["cross_worker", "presence", "calls", "redis_restart", "worker_kill", "slow_client", "storm", "healthz",
             "ghosts"]
CALM_BUDGET = 60.0  # seconds to wait, between checks, for each worker to serve a new socket promptly


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


async def ensure_stack(ctx: Ctx) -> list[str]:
    """Between checks: whatever a check left dead (a killed worker, a stopped Redis) is started again."""
    stack, notes = ctx.stack, []
    if not await asyncio.to_thread(stack.redis.ping):
        await asyncio.to_thread(stack.redis.start)
        notes.append("private Redis was down: started again")
    for worker in stack.workers:
        if not worker.alive():
            code = worker.proc.returncode if worker.proc else None
            worker.start()
            seconds = await asyncio.to_thread(worker.wait_ready)
            notes.append(f"worker {worker.name} was not running (exit {code}): started again in {seconds:.1f} s")
    if stack.nginx.proc.poll() is not None:
        stack.nginx.start()
        notes.append("nginx was not running: started again")
    # Busy after the check (a storm's aftermath)? Wait until each worker answers a new socket's
    # handshake with `hello` within 2 s, so that the next check starts on a usable stack.
    probe_user = ctx.demo_users[-1]
    started = now()
    for worker in stack.workers:
        while True:
            probe = ctx.conn(f"calm{worker.name}", probe_user, via=worker.name, open_timeout=10)
            t = now()
            ok = await probe.start()
            await ctx.stop_all([probe])
            if ok and now() - t <= 2.0:
                break
            if now() - started > CALM_BUDGET:
                notes.append(f"worker {worker.name} still slow to open a socket after {CALM_BUDGET:.0f} s")
                break
            await asyncio.sleep(1)
    waited = now() - started
    if waited > 5:
        notes.append(f"waited {waited:.0f} s for both workers to open a socket within 2 s")
    return notes


async def run_one(ctx: Ctx, name: str) -> Result:
    fn, cap = CHECKS[name]
    fig = Figures()
    started = time.monotonic()
    try:
        await asyncio.wait_for(fn(ctx, fig), cap)
        ok = not fig.problems
    except TimeoutError:
        fig.problems.append(f"did not finish within {cap:.0f} s")
        ok = False
    except CheckFailed as exc:
        fig.problems.append(str(exc))
        ok = False
    except Exception as exc:
        fig.problems.append(f"harness error {type(exc).__name__}: {exc}")
        ok = False
    seconds = time.monotonic() - started
    fig["check_s"] = round(seconds, 1)
    return Result(name, ok, fig.text(), seconds)


async def run_checks(stack: Stack, seed: dict, demo: dict, names: list[str]) -> list[Result]:
    ctx = Ctx(stack, seed, demo)
    results: list[Result] = []
    started = time.monotonic()
    for name in names:
        if time.monotonic() - started > TOTAL_BUDGET:
            results.append(Result(name, False, f"not run: the run used its {TOTAL_BUDGET:.0f} s"))
            print(results[-1].line(), flush=True)
            continue
        log(f"check {name}")
        result = await run_one(ctx, name)
        results.append(result)
        print(result.line(), flush=True)
        try:
            await asyncio.wait_for(ctx.stop_all(), 60)
        except TimeoutError:
            log("closing the check's sockets took over 60 s")
        if name == names[-1]:
            break
        for note in await ensure_stack(ctx):
            print(f"  note: {note}", flush=True)
        await asyncio.sleep(1)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", help=f"comma-separated checks among: {', '.join(CHECKS)}")
    parser.add_argument("--keep-logs", action="store_true", help="keep the work directory even if all pass")
    args = parser.parse_args()
    names = [n.strip() for n in args.only.split(",") if n.strip()] or RUN_ORDER
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        print(f"unknown check(s) {unknown}; known: {', '.join(CHECKS)}", file=sys.stderr)
        return 2
    raise_nofile()
    # make / Ctrl-C / a CI timeout: unwind through `finally` so everything started here is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    workdir = Path(tempfile.mkdtemp(prefix="vo-faults-"))
    stack = Stack(workdir)
    results: list[Result] = []
    started = time.monotonic()
    setup_error = None
    try:
        log(f"work directory {workdir}; database {stack.db.name}; private Redis on {stack.redis.port}")
        stack.start_services()
        stack.manage("migrate", "--noinput", "-v", "0")
        demo = json.loads(stack.manage("seed_demo", "--json", "--companies", "1", "--users", "12", "--spaces", "2",
                                       "--messages", "0"))
        seed = json.loads(stack.python("faults/seed.py", stdin=json.dumps({"companies": COMPANIES})))
        log(f"seeded: demo company ({len(demo['companies'][0]['users'])} users) and "
            f"{sum(COMPANIES.values())} users in {len(COMPANIES)} companies")
        stack.start_servers()
        log(f"workers {', '.join(f'{w.name}={w.port} (pid {w.pid})' for w in stack.workers)}; "
            f"nginx on {stack.nginx.port} (pid {stack.nginx.proc.pid})")
        import uvloop

        results = uvloop.run(run_checks(stack, seed, demo, names))
    except (Exception, KeyboardInterrupt, SystemExit) as exc:
        setup_error = f"{type(exc).__name__}: {exc}"
        print(f"FAIL faults: the run stopped: {setup_error}", flush=True)
    finally:
        problems = stack.stop()
        for problem in problems:
            print(f"  note: while stopping: {problem}", flush=True)
    failed = [r for r in results if not r.ok]
    errors = {w.name: w.errors() for w in stack.workers}
    summary = (f"faults: {len(results) - len(failed)} passed, {len(failed)} failed of {len(names)} "
               f"in {time.monotonic() - started:.0f} s; worker tracebacks {errors}")
    keep = args.keep_logs or failed or setup_error
    if keep:
        summary += f"; logs in {workdir}"
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    print(summary, flush=True)
    return 1 if failed or setup_error or len(results) < len(names) else 0


if __name__ == "__main__":
    sys.exit(main())
