"""Throughput: jobs completed per minute end to end (create -> stored) by 1, 2 and 4 qcluster workers.

Each variant gets a fresh database and emulator: the ORM broker on SQLite (the embedded
default) and the Redis broker on PostgreSQL (``SORA_REDIS_URL`` + ``DATABASE_URL``). The
naive way (a thread per job: ``create_and_poll`` + ``write_to_file``) runs the same jobs
for reference: it keeps nothing (no checks, no previews, no rows, no retries).

    .venv/bin/python bench/bench_throughput.py [--quick] [--jobs 100] [--workers 1 2 4]
"""
from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402
from bench.bench_tracking import run_naive  # noqa: E402
from bench.common import log, percentile  # noqa: E402

BACKENDS = {"sqlite": "SQLite + ORM broker", "postgres": "PostgreSQL + Redis broker"}


def run_ours(n: int, *, db: str, workers: int, generation_time: float) -> dict[str, Any]:
    log(f"throughput: {n} jobs, {BACKENDS[db]}, {workers} workers")
    with common.workdir() as where, common.database(db, where) as url:
        emu = common.emulator(generation_time=generation_time, fps=1).start()
        env = common.site_env(where, url, common.sora_options(emu.base_url), redis=db == "postgres", workers=workers)
        cluster = common.cluster(env, where).start()
        emu_pid = emu._process.pid  # EmulatorProcess keeps its Popen there
        try:
            cpu_before = common.idle_cpu(cluster.proc.pid), common.cpu_seconds(emu_pid)
            result = common.django_call(env, "bench.common:child_create_and_wait", n=n, timeout=120 + n * 3)
            if not cluster.alive():
                log(f"qcluster died:\n{cluster.tail()}")
            worker_cpu = common.cpu_seconds(cluster.proc.pid) - cpu_before[0]
            emulator_cpu = common.cpu_seconds(emu_pid) - cpu_before[1]
        finally:
            cluster.stop()
            emu.stop()
            common.drop_redis_queue(env["SORA_Q_NAME"])
    jobs = result["jobs"]
    stored = [j for j in jobs if j["status"] == "completed"]
    if len(stored) < n:
        bad = [j for j in jobs if j["status"] != "completed"]
        log(f"{len(bad)} jobs not stored, e.g. {bad[0] if bad else None}")
    wall = max(j["stored_at"] for j in stored) - result["started"] if stored else None
    submit = [j["submitted_at"] - j["created_at"] for j in jobs if j["submitted_at"]]
    e2e = [j["stored_at"] - j["created_at"] for j in stored]
    return {
        "variant": f"ours, {BACKENDS[db]}", "workers": workers, "jobs": n, "stored": len(stored), "wall": wall,
        "per_min": len(stored) / wall * 60 if wall else 0.0,
        "submit_p50": percentile(submit, 50), "e2e_p50": percentile(e2e, 50), "e2e_p95": percentile(e2e, 95),
        "worker_cpu": worker_cpu / n, "emulator_cpu": emulator_cpu / n,
    }


def run(quick: bool = False, jobs: int | None = None, workers: list[int] | None = None,
        generation_time: float | None = None, db: list[str] | None = None, skip_naive: bool = False) -> common.Outcome:
    n = jobs or (10 if quick else 100)
    counts = workers or ([1, 2] if quick else [1, 2, 4])
    generation_time = generation_time or 2.0
    backends = db or (["sqlite"] if quick else ["sqlite", "postgres"])
    if "postgres" in backends and not (common.postgres_available() and common.redis_available()):
        log("PostgreSQL or Redis not reachable: SQLite only")
        backends = ["sqlite"]
    rows = []
    for backend in backends:
        for count in counts:
            rows.append(run_ours(n, db=backend, workers=count, generation_time=generation_time))
            log(str(rows[-1]))
    naive = None if skip_naive else run_naive(n, generation_time=generation_time)

    headers = ["variant", "workers", "jobs", "stored", "wall s", "jobs/min", "create→submitted p50 s",
               "create→stored p50 s", "create→stored p95 s", "our CPU s/job", "emulator CPU s/job"]
    body_rows = [[r["variant"], r["workers"], r["jobs"], r["stored"], r["wall"], r["per_min"], r["submit_p50"],
                  r["e2e_p50"], r["e2e_p95"], r["worker_cpu"], r["emulator_cpu"]] for r in rows]
    if naive:
        body_rows.append([naive["variant"], f"{n} threads", n, naive["stored"], naive["wall"],
                          naive["stored"] / naive["wall"] * 60 if naive["wall"] else 0.0, None, None, None,
                          naive["client_cpu"] / n, naive["emulator_cpu"] / n])
    ours_cpu = min(r["worker_cpu"] for r in rows)
    render_cpu = statistics.median(r["emulator_cpu"] for r in rows)
    print(common.table(headers, body_rows))
    body = "\n".join([
        "## Throughput (`bench/bench_throughput.py`)",
        "",
        f"{n} jobs created at once (`services.create_video`), emulator `--generation-time {generation_time:g} "
        f"--fps 1` ({common.SIZE}, {common.SECONDS} s clips), `manage.py qcluster` with `SORA_Q_WORKERS` workers, "
        "default timings, limits raised. Wall = first create to last `stored_at`; jobs/min = stored / wall. "
        "Each stored job is 1 create, its status requests and 3 downloads (MP4 probed, thumbnail and "
        "spritesheet checked), stored atomically with its rows; the naive row keeps only the MP4 file. "
        "CPU columns: user + system seconds per job of the qcluster's processes (startup excluded; the database "
        "server's own CPU not included) and of the emulator (naive: the client's threads).",
        "",
        common.table(headers, body_rows),
        "",
        f"- The emulator spends about {render_cpu:.2f} CPU s per job (rendering at `--fps 1`) on the same "
        f"{os.cpu_count()} cores, which alone caps this machine near {os.cpu_count() / render_cpu * 60:.0f} jobs/min "
        "whatever the worker count; our workers used at least "
        f"{ours_cpu:.2f} CPU s per job, about {60 / ours_cpu:.0f} jobs/min per core with the provider elsewhere.",
    ])
    return common.Outcome("throughput", body, [])


def _arguments(parser: Any) -> None:
    parser.add_argument("--jobs", type=int, help="jobs per variant (default 100; quick 10)")
    parser.add_argument("--workers", type=int, nargs="+", help="worker counts (default 1 2 4; quick 1 2)")
    parser.add_argument("--generation-time", type=float, help="emulator seconds per job (default 2)")
    parser.add_argument("--db", nargs="+", choices=tuple(BACKENDS), help="default: sqlite postgres (quick: sqlite)")
    parser.add_argument("--skip-naive", action="store_true")


if __name__ == "__main__":
    common.main("throughput", run, add_arguments=_arguments)
