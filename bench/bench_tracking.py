"""Status tracking: status API calls per job and completion-to-stored latency, ours vs the SDK's create_and_poll.

Ours: jobs created with ``services.create_video`` and carried by a real ``manage.py qcluster``
(submit -> sweep -> download), with and without webhooks (a gunicorn site receives the
emulator's signed ``video.completed`` events). The naive way: one thread per job calling
``client.videos.create_and_poll(...)`` then ``download_content(id).write_to_file(path)``.
The emulator's ``/_emulator/stats`` counts the status requests (retrieve + list).

    .venv/bin/python bench/bench_tracking.py [--quick] [--jobs 100 1000] [--db postgres|sqlite]
"""
from __future__ import annotations

import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402
from bench.common import log, percentile  # noqa: E402
from videos.conf import DEFAULTS  # noqa: E402

SIZE, SECONDS, MODEL, PROMPT = common.SIZE, common.SECONDS, common.MODEL, common.PROMPT
SWEEP_DURATION = DEFAULTS["SWEEP_DURATION"]  # the shipped default, which this benchmark runs with
POLL_INTERVAL = DEFAULTS["POLL_INTERVAL"]  # likewise
WORKERS = 4  # per qcluster, as docs/deploy.md runs a worker host (SORA_Q_WORKERS=4)


# --- ours ---------------------------------------------------------------------------------------------
def run_ours(n: int, *, webhooks: bool, generation_time: float, db: str, workers: int) -> dict[str, Any]:
    label = f"ours, {'webhooks' if webhooks else 'polling'}"
    log(f"{label}: {n} jobs, {db}, {workers} workers")
    with common.workdir() as where, common.database(db, where) as url:
        port = common.free_port()
        secret = common.webhook_secret() if webhooks else None
        emu = common.emulator(
            generation_time=generation_time, fps=1,
            webhook_url=f"http://127.0.0.1:{port}/webhooks/{common.PROVIDER}/" if webhooks else None,
            webhook_secret=secret,
        ).start()
        env = common.site_env(where, url, common.sora_options(emu.base_url, webhooks=webhooks),
                              redis=db == "postgres", workers=workers,
                              extra={"BENCH_WEBHOOK_SECRET": secret} if secret else None)
        services: list[common.Service] = []
        try:
            if webhooks:
                services.append(common.site(env, where, port).start())
                common.wait_port(port, proc=services[-1])
            services.append(common.cluster(env, where).start())
            emu_pid = emu._process.pid  # EmulatorProcess keeps its Popen there
            ours_before = sum(common.idle_cpu(service.proc.pid) for service in services)
            emu_before = common.cpu_seconds(emu_pid)
            result = common.django_call(env, "bench.common:child_create_and_wait", n=n,
                                        timeout=generation_time + 120 + n * 0.6)
            ours_cpu = sum(common.cpu_seconds(service.proc.pid) for service in services) - ours_before
            emulator_cpu = common.cpu_seconds(emu_pid) - emu_before
            stats = emu.stats()
            remote = {job["id"]: job for job in emu.jobs()}
            hooks = emu.webhooks() if webhooks else []
            for service in services:
                if not service.alive():
                    log(f"{service.name} died:\n{service.tail()}")
        finally:
            for service in reversed(services):
                service.stop()
            emu.stop()
            common.drop_redis_queue(env["SORA_Q_NAME"])
    jobs = result["jobs"]
    stored = [j for j in jobs if j["status"] == "completed"]
    latencies = [j["stored_at"] - completed(remote[j["remote_id"]]) for j in stored]
    problems = [j for j in jobs if j["status"] != "completed"]
    if problems:
        log(f"{label}: {len(problems)} jobs not stored, e.g. {problems[0]}")
    last = max((j["stored_at"] for j in stored), default=None)
    return row(label, n, stats, latencies, len(stored), result["started"], last,
               webhooks_failed=sum(1 for h in hooks if h["state"] != "delivered"), client_cpu=ours_cpu,
               emulator_cpu=emulator_cpu, interval=f"{POLL_INTERVAL:g} s" + (" (webhooks: 300 s)" if webhooks else ""),
               workers=str(workers))


# --- the naive way ---------------------------------------------------------------------------------------
def run_naive(n: int, *, generation_time: float) -> dict[str, Any]:
    """One thread per job: the SDK's create_and_poll (it sleeps for the server's poll-after hint), then download."""
    import openai

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    log(f"naive: {n} threads")
    with common.workdir() as where:
        emu = common.emulator(generation_time=generation_time, fps=1).start()
        try:
            client = openai.OpenAI(base_url=emu.base_url, api_key=emu.api_key)  # SDK defaults (2 retries)
            done: list[tuple[str, float] | None] = [None] * n
            errors: list[str] = []

            def one(i: int) -> None:
                try:
                    video = client.videos.create_and_poll(prompt=PROMPT.format(i=i), model=MODEL, size=SIZE,
                                                          seconds=str(SECONDS))
                    if video.status != "completed":
                        errors.append(f"{video.id}: {video.status}")
                        return
                    path = where / f"{video.id}.mp4"
                    client.videos.download_content(video.id).write_to_file(path)
                    done[i] = (video.id, time.time())
                    path.unlink()
                except Exception as exc:  # counted, not fatal: the naive way has no retry policy of its own
                    errors.append(repr(exc)[:200])

            emu_pid = emu._process.pid  # EmulatorProcess keeps its Popen there
            cpu_before = time.process_time(), common.cpu_seconds(emu_pid)
            started = time.time()
            threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(n)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(generation_time + 120 + n * 0.6)
            client_cpu = time.process_time() - cpu_before[0]
            emulator_cpu = common.cpu_seconds(emu_pid) - cpu_before[1]
            stats = emu.stats()
            remote = {job["id"]: job for job in emu.jobs()}
        finally:
            emu.stop()
    if errors:
        log(f"naive: {len(errors)} errors, e.g. {errors[0]}")
    stored = [d for d in done if d]
    latencies = [at - completed(remote[vid]) for vid, at in stored]
    return row("naive: create_and_poll per thread", n, stats, latencies, len(stored), started,
               max((at for _, at in stored), default=None), errors=len(errors), client_cpu=client_cpu,
               emulator_cpu=emulator_cpu, interval="server's hint",
               workers=f"{n} threads")


def completed(job: dict[str, Any]) -> float:
    """When the emulator completed the job: its exact clock (the wire's ``completed_at`` has whole seconds)."""
    return job["emulator"].get("completed_at_exact") or job["completed_at"]


def row(label: str, n: int, stats: dict[str, Any], latencies: list[float], stored: int, started: float,
        last: float | None, **extra: Any) -> dict[str, Any]:
    requests = stats["requests"]
    status = requests["retrieve"] + requests["list"]
    return {
        "variant": label, "jobs": n, "stored": stored,
        "retrieve": requests["retrieve"], "list": requests["list"], "content": requests["content"],
        "per_job": status / n, "p50": percentile(latencies, 50), "p95": percentile(latencies, 95),
        "wall": (last - started) if last else None,
        "per_minute": stored / (last - started) * 60 if last else None, **extra,
    }


# --- the benchmark -------------------------------------------------------------------------------------
def run(quick: bool = False, jobs: list[int] | None = None, generation_time: float | None = None,
        db: str | None = None, workers: int = WORKERS, skip_naive: bool = False) -> common.Outcome:
    sizes = jobs or ([5] if quick else [100, 1000])
    generation_time = generation_time or (2.0 if quick else 20.0)
    production_shaped = not quick and common.postgres_available() and common.redis_available()
    db = db or ("postgres" if production_shaped else "sqlite")
    rows = []
    for n in sizes:
        for webhooks in (False, True):
            rows.append(run_ours(n, webhooks=webhooks, generation_time=generation_time, db=db, workers=workers))
            log(str(rows[-1]))
        if not skip_naive:
            rows.append(run_naive(n, generation_time=generation_time))
            log(str(rows[-1]))

    headers = ["variant", "workers", "poll interval", "jobs", "stored", "retrieve", "list", "status req/job",
               "content req", "p50 s", "p95 s", "first create → last stored s", "jobs/min", "our CPU s/job",
               "emulator CPU s/job"]
    body_rows = [[r["variant"], r["workers"], r["interval"], r["jobs"], r["stored"], r["retrieve"], r["list"],
                  round(r["per_job"], 2), r["content"], r["p50"], r["p95"], r["wall"], r["per_minute"],
                  r["client_cpu"] / r["jobs"],
                  r["emulator_cpu"] / r["jobs"]] for r in rows]
    goals: list[tuple[str, bool]] = []
    for r in rows:
        if r["variant"] == "ours, webhooks":
            goals.append((f"with webhooks, ≤ 1.1 status requests per job at {r['jobs']} jobs "
                          f"(measured {r['per_job']:.2f})", r["per_job"] <= 1.1 and r["stored"] == r["jobs"]))
        if r["variant"] == "ours, polling" and r["jobs"] == 100:
            goals.append((f"without webhooks, ≤ 2 status requests per job at 100 jobs (measured {r['per_job']:.2f})",
                          r["per_job"] <= 2 and r["stored"] == r["jobs"]))
    goals += latency_goals(rows) + throughput_goals(rows)
    extra = [r for r in rows if r.get("webhooks_failed") or r.get("errors")]
    broker = "PostgreSQL + Redis broker" if db == "postgres" else "SQLite + ORM broker"
    body = "\n".join([
        "## Status tracking (`bench/bench_tracking.py`)",
        "",
        f"Emulator `--generation-time {generation_time:g} --fps 1` ({SIZE}, {SECONDS} s clips; its poll-after hint "
        f"is {min(10.0, max(0.1, generation_time / 10)):g} s). Ours: `manage.py qcluster` with {workers} workers "
        f"(as `docs/deploy.md` runs a worker host) on {broker}, default timings (`POLL_INTERVAL` 5 s, "
        f"`WEBHOOK_POLL_INTERVAL` 300 s, `SWEEP_DURATION` {SWEEP_DURATION:g} s), "
        "limits raised (`MAX_IN_FLIGHT`, `CREATES_PER_MINUTE`); with webhooks a gunicorn site receives them. "
        "Status requests = the emulator's retrieve + list counts; latency = our `stored_at` (naive: "
        "`write_to_file` returned) minus the moment the emulator completed the job (its own clock, exact). "
        "CPU: user + system seconds per job of our processes (qcluster, workers it replaced included, and with "
        "webhooks the site; startup "
        "excluded, the database server not included), of the naive client's threads, and of the emulator.",
        "",
        common.table(headers, body_rows),
        "",
        *common.goal_lines(goals),
        *(f"- note: {r['variant']} at {r['jobs']} jobs: {r.get('webhooks_failed', 0)} webhook deliveries failed, "
          f"{r.get('errors', 0)} client errors" for r in extra),
    ])
    print(common.table(headers, body_rows))
    return common.Outcome("tracking", body, goals)


def latency_goals(rows: list[dict[str, Any]]) -> list[tuple[str, bool]]:
    """Goal 1 of issue 15, at the largest job count measured."""
    top = max(r["jobs"] for r in rows)
    goals = []
    for r in rows:
        if r["jobs"] != top or r["p50"] is None:
            continue
        if r["variant"] == "ours, webhooks":
            goals.append((f"with webhooks at {top} jobs, completion → stored p50 ≤ 1 s and p95 ≤ 3 s "
                          f"(measured {r['p50']:.2f} / {r['p95']:.2f} s)", r["p50"] <= 1 and r["p95"] <= 3))
        if r["variant"] == "ours, polling":
            half, whole = POLL_INTERVAL / 2 + 1, POLL_INTERVAL + 2
            goals.append((f"polling every {POLL_INTERVAL:g} s at {top} jobs, completion → stored p50 ≤ {half:g} s "
                          f"and p95 ≤ {whole:g} s (measured {r['p50']:.2f} / {r['p95']:.2f} s)",
                          r["p50"] <= half and r["p95"] <= whole))
    return goals


def throughput_goals(rows: list[dict[str, Any]]) -> list[tuple[str, bool]]:
    """Goal 2 of issue 15: jobs per minute at or above the naive client's, CPU per job at or below it."""
    goals = []
    for naive in (r for r in rows if r["variant"].startswith("naive") and r["per_minute"]):
        for r in rows:
            if r["jobs"] != naive["jobs"] or r["variant"].startswith("naive") or not r["per_minute"]:
                continue
            ours_cpu, naive_cpu = r["client_cpu"] / r["jobs"], naive["client_cpu"] / naive["jobs"]
            goals.append((f"{r['variant']} at {r['jobs']} jobs: jobs/min ≥ naive ({r['per_minute']:.0f} vs "
                          f"{naive['per_minute']:.0f}) and CPU/job ≤ naive ({ours_cpu:.3f} vs {naive_cpu:.3f} s)",
                          r["per_minute"] >= naive["per_minute"] and ours_cpu <= naive_cpu))
    return goals


def _arguments(parser: Any) -> None:
    parser.add_argument("--jobs", type=int, nargs="+", help="concurrent job counts (default 100 1000; quick 5)")
    parser.add_argument("--generation-time", type=float, help="emulator seconds per job (default 20; quick 2)")
    parser.add_argument("--db", choices=("postgres", "sqlite"),
                        help="default: postgres (Redis broker) when reachable; quick: sqlite")
    parser.add_argument("--workers", type=int, default=WORKERS, help=f"qcluster workers (default {WORKERS})")
    parser.add_argument("--skip-naive", action="store_true")


if __name__ == "__main__":
    common.main("tracking", run, add_arguments=_arguments)
