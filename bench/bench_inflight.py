"""Many jobs in flight: what keeping 100, 1,000 and 10,000 unfinished jobs current costs.

Jobs are placed in the database (status ``queued``, remote ids of videos the emulator holds,
``--generation-time 86400 --no-render`` so they stay in progress) and the sweep's passes
(``pipeline.sweep_once``, on PostgreSQL) keep them current at the default ``POLL_INTERVAL``.
A first round with every job due at once; then the steady state: passes run as the sweep
runs them until every job was checked again, and we count list calls, job-row writes and
queries per pass. The naive way: one retrieve per job
and one row save per job (8 threads), one round.

    .venv/bin/python bench/bench_inflight.py [--quick] [--jobs 100 1000 10000]
"""
from __future__ import annotations

import datetime as dt
import json
import math
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402
from bench.common import log  # noqa: E402
from videos.conf import DEFAULTS  # noqa: E402

POLL_INTERVAL = DEFAULTS["POLL_INTERVAL"]
THREADS = 8


def run_one(n: int) -> list[dict[str, Any]]:
    log(f"in flight: {n} jobs")
    with common.workdir() as where, common.database("postgres", where) as url:
        emu = common.emulator(generation_time=86_400, fps=1, extra_args=("--no-render",)).start()
        try:
            env = common.site_env(where, url, common.sora_options(emu.base_url))
            return common.django_call(env, "bench.bench_inflight:child_rounds", n=n, stats_url=emu.url + "/_emulator/stats",
                                      api_key=emu.api_key, call_timeout=1800)
        finally:
            emu.stop()


def child_rounds(n: int, stats_url: str, api_key: str) -> list[dict[str, Any]]:
    """(Django child) Place ``n`` jobs, then measure our rounds and the naive one."""
    import openai
    from django.db import connection
    from django.db.models import Max
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from videos import pipeline
    from videos.models import JobStatus, VideoJob
    from videos.providers import get_provider

    provider = get_provider(common.PROVIDER)
    client = openai.OpenAI(base_url=provider.config.base_url, api_key=api_key, max_retries=0)

    def list_calls() -> int:
        with urllib.request.urlopen(stats_url) as r:  # the control API needs no key
            return json.load(r)["requests"].get("list", 0)

    with ThreadPoolExecutor(THREADS) as pool:
        ids = list(pool.map(lambda i: client.videos.create(prompt=f"In flight #{i}", model=common.MODEL,
                                                           size=common.SIZE, seconds=str(common.SECONDS)).id, range(n)))
    now = timezone.now()
    VideoJob.objects.bulk_create([
        VideoJob(provider=common.PROVIDER, model=common.MODEL, size=common.SIZE, seconds=common.SECONDS,
                 prompt_text=f"In flight #{i}", status=JobStatus.QUEUED, remote_id=remote_id, remote_status="queued",
                 submitted_at=now, last_news_at=now, last_checked_at=now - dt.timedelta(days=1))
        for i, remote_id in enumerate(ids)
    ], batch_size=2000)

    def job_writes(ctx: CaptureQueriesContext) -> int:
        return sum(1 for q in ctx.captured_queries if q["sql"].startswith('UPDATE "sora_videos_videojob"'))

    def passes_until_all_checked(since: Any) -> dict[str, Any]:
        """Passes as the sweep makes them (sleeping until something is due) until every job was
        checked after ``since``; a pass that found nothing due is not counted."""
        lists_before = list_calls()
        passes, writes, queries, started, ended = 0, 0, [], None, None
        while VideoJob.objects.filter(last_checked_at__lt=since).exists():  # they stay in flight
            lists = list_calls()
            began = time.monotonic()
            with CaptureQueriesContext(connection) as ctx:
                wait = pipeline.sweep_once(provider)
            if list_calls() > lists:
                started = started or began
                passes += 1
                writes += job_writes(ctx)
                queries.append(len(ctx.captured_queries))
                ended = time.monotonic()
            time.sleep(min(max(wait or 0.0, 0.02), POLL_INTERVAL))
        return {"passes": passes, "lists": list_calls() - lists_before, "writes": writes,
                "max_queries": max(queries), "seconds": ended - started}

    rows = []
    first = passes_until_all_checked(timezone.now())
    rows.append({"variant": "ours: first round (every job due at once)", "jobs": n, **first})
    due = dict(VideoJob.objects.values_list("pk", "next_check_at"))
    steady = passes_until_all_checked(VideoJob.objects.aggregate(last=Max("last_checked_at"))["last"]
                                      + dt.timedelta(microseconds=1))
    late = [(at - due[pk]).total_seconds() for pk, at in VideoJob.objects.values_list("pk", "last_checked_at")]
    rows.append({"variant": "ours: steady state (unchanged jobs)", "jobs": n, **steady, "late": max(late)})

    def naive_one(job: VideoJob) -> None:
        video = client.videos.retrieve(job.remote_id)
        job.remote_status, job.progress, job.last_checked_at = video.status, video.progress or 0, timezone.now()
        job.save(update_fields=["remote_status", "progress", "last_checked_at", "updated_at"])

    jobs = list(VideoJob.objects.all())
    started = time.monotonic()
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(naive_one, jobs))
    rows.append({"variant": f"naive: retrieve + save per job ({THREADS} threads)", "jobs": n, "passes": 1,
                 "lists": 0, "retrieves": n, "writes": n, "max_queries": n, "seconds": time.monotonic() - started})
    return rows


def run(quick: bool = False, jobs: list[int] | None = None) -> common.Outcome:
    if not common.postgres_available():
        return common.Outcome("inflight", "## Jobs in flight (`bench/bench_inflight.py`)\n\nNot run: it needs "
                              "PostgreSQL on 127.0.0.1:5432.", [])
    sizes = jobs or ([50] if quick else [100, 1000, 10_000])
    rows = [r for n in sizes for r in run_one(n)]
    for r in rows:
        log(str(r))
    headers = ["variant", "jobs", "pages", "passes", "list calls", "job-row writes", "max queries per pass",
               "round s", "latest check after due s"]
    body_rows = [[r["variant"], r["jobs"], math.ceil(r["jobs"] / 100), r["passes"], r.get("retrieves", r["lists"]),
                  r["writes"], r["max_queries"], r["seconds"], r.get("late", "–")] for r in rows]
    goals = []
    for r in rows:
        if r["variant"].startswith("ours: steady"):
            pages = math.ceil(r["jobs"] / 100)
            bulk = r["passes"] * math.ceil(r["jobs"] / 1000)  # one UPDATE per 1,000 ids (parameter limits)
            goals.append((f"{r['jobs']} jobs in flight: every job checked within its poll interval "
                          f"({POLL_INTERVAL:g} s; latest {r['late']:.2f} s after due), list calls per round ≤ pages "
                          f"+ 1 ({r['lists']} for {pages}), job-row writes only the bulk check-time updates "
                          f"(≤ {bulk}: {r['writes']}), queries per pass ≤ 20 + pages ({r['max_queries']})",
                          r["late"] <= POLL_INTERVAL and r["lists"] <= pages + 1 and r["writes"] <= bulk
                          and r["max_queries"] <= 20 + pages))
    body = "\n".join([
        "## Jobs in flight (`bench/bench_inflight.py`)",
        "",
        "Jobs placed in PostgreSQL as `queued` with the ids of videos the emulator holds (`--generation-time 86400 "
        f"--no-render`: they stay in progress); `pipeline.sweep_once` passes as the sweep makes them, default "
        f"`POLL_INTERVAL` {POLL_INTERVAL:g} s. First round: every job due at once. Steady state: "
        "from the first job due again until every job was checked again; *latest check after due* is the most a "
        "job waited past its `next_check_at`. Pages: the provider's list pages of 100 holding those jobs. The naive "
        f"row retrieves each job and saves its row ({THREADS} threads), one round.",
        "",
        common.table(headers, body_rows),
        "",
        *common.goal_lines(goals),
    ])
    print(common.table(headers, body_rows))
    return common.Outcome("inflight", body, goals)


def _arguments(parser: Any) -> None:
    parser.add_argument("--jobs", type=int, nargs="+", help="jobs in flight (default 100 1000 10000; quick 50)")


if __name__ == "__main__":
    common.main("inflight", run, add_arguments=_arguments)
