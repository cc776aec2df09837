"""The fault suite: 200 jobs through real qclusters while the emulator injects every fault at
random and workers are killed with SIGKILL. Nothing is paid twice, nothing is lost silently,
nothing half-written is left.

Run alone with ``bin/test -m faults``; CI runs it on the production profile.
"""
from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import pytest

from videos import services, storage
from videos.models import JobStatus, VideoJob

from ..lifecycle.helpers import assert_assets_match_emulator, assert_no_partial_files
from ..lifecycle.test_workers import Cluster, cluster_env, test_database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.faults, pytest.mark.slow]

JOBS = int(os.environ.get("SORA_FAULT_JOBS", "200"))
P = float(os.environ.get("SORA_FAULT_P", "0.08"))  # chance that any one request meets a given fault
KILLS = int(os.environ.get("SORA_FAULT_KILLS", "6"))

FAULTS = [
    *({"endpoint": ep, "fault": f, "probability": P, "times": None, "retry_after": 0.2}
      for ep in ("create", "retrieve", "list", "content")
      for f in ("http_429", "http_500", "http_502", "http_503")),
    *({"endpoint": ep, "fault": "drop_response", "probability": P, "times": None}
      for ep in ("create", "retrieve", "list", "content")),
    *({"endpoint": ep, "fault": "slow", "delay": 1.0, "probability": P, "times": None}
      for ep in ("create", "retrieve", "list", "content")),
    {"endpoint": "content", "fault": "truncate", "probability": P, "times": None},
    {"endpoint": "create", "fault": "fail_job", "error_code": "internal_error", "probability": 0.03, "times": None},
]


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_a_worker(cluster: Cluster, rng: random.Random) -> int | None:
    """SIGKILL one leaf process of the cluster (a worker, the pusher or the monitor)."""
    procs = descendants(cluster.proc.pid)
    leaves = [p for p in procs if not descendants(p)]
    if not leaves:
        return None
    victim = rng.choice(leaves)
    try:
        os.kill(victim, signal.SIGKILL)
    except ProcessLookupError:
        return None
    return victim


def test_two_hundred_jobs_through_random_faults_and_killed_workers(emulators, settings, tmp_path):
    rng = random.Random(20261122)
    emu = emulators.get(generation_time=1.0, fps=1, extra_args=("--fault-seed", "7"))
    env, cfg = cluster_env(
        emu, tmp_path, test_database_url(),
        SUBMIT_TIMEOUT=0.8, SUBMIT_GRACE=3.0, DOWNLOAD_STALL=3.0, SWEEP_DURATION=10.0, SWEEP_LEASE=3.0,
        DOWNLOAD_MAX_ATTEMPTS=12, SUBMIT_MAX_ATTEMPTS=12, POLL_INTERVAL=0.5,
        provider={"MAX_IN_FLIGHT": 60, "CREATES_PER_MINUTE": 6000},
    )
    settings.MEDIA_ROOT = env["DJANGO_MEDIA_ROOT"]
    settings.SORA_VIDEOS = cfg
    emu.set_faults(FAULTS)

    clusters = [Cluster(env).start(), Cluster(env).start()]
    from django_q.tasks import async_task

    try:
        sizes = ["1280x720", "720x1280"]
        jobs = [
            services.create_video(f"Fault suite shot {i}: a kite over dunes", size=sizes[i % 2], seconds=4)
            for i in range(JOBS)
        ]
        ids = [j.pk for j in jobs]
        deadline = time.monotonic() + 900
        kills, restarts = 0, 0
        while True:
            active = VideoJob.objects.filter(pk__in=ids, status__in=JobStatus.active()).count()
            if not active:
                break
            assert time.monotonic() < deadline, f"{active} jobs still active\n{clusters[-1].output()}"
            time.sleep(2)
            if kills < KILLS and rng.random() < 0.5:
                if kill_a_worker(rng.choice(clusters), rng):
                    kills += 1
            if restarts < 1 and kills >= min(3, KILLS) and KILLS:  # and once, a whole host dies and comes back
                clusters[0].kill()
                clusters[0] = Cluster(env).start()
                restarts += 1
            async_task("videos.tasks.sweep")  # what the minute schedule does, sooner
        emu.clear_faults()
    finally:
        for cluster in clusters:
            cluster.stop()

    assert kills >= min(3, KILLS) and restarts == (1 if KILLS else 0)
    jobs = list(VideoJob.objects.filter(pk__in=ids))
    outcomes = {s: sum(1 for j in jobs if j.status == s) for s in {j.status for j in jobs}}
    print(f"\nfault suite outcomes: {outcomes}; kills={kills} restarts={restarts}; stats={emu.stats()}")
    for job in jobs:
        if job.status != JobStatus.COMPLETED:
            print(f"  job {job.pk} {job.status} [{job.error_code}] {job.error_message[:160]}")
    for job in jobs:
        assert job.status in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.NEEDS_ATTENTION), job.status
        if job.status == JobStatus.COMPLETED:
            assert job.assets.count() == 3
            assert_assets_match_emulator(job, emu)
        else:
            assert job.error_message.strip(), f"job {job.pk} is {job.status} without a reason"
    # exactly one create per job: every remote video belongs to exactly one job, and back
    remote = {j["id"] for j in emu.jobs()}
    local = [j.remote_id for j in jobs if j.remote_id]
    assert len(local) == len(set(local))
    orphans = remote - set(local)
    if orphans:
        by_id = {j["id"]: j for j in emu.jobs()}
        for orphan in orphans:
            twin = VideoJob.objects.filter(prompt_text=by_id[orphan]["prompt"]).first()
            history = list(twin.events.values_list("at", "from_status", "to_status", "message")) if twin else []
            print(f"orphan {orphan} created_at={by_id[orphan]['created_at']} prompt={by_id[orphan]['prompt']!r}; "
                  f"local job {twin and twin.pk} remote={twin and twin.remote_id} attempts={twin and twin.submit_attempts}")
            for row in history:
                print("   ", row)
    assert remote == set(local), f"orphans at the provider: {orphans}"
    assert emu.stats()["jobs_created"] == len(local)
    assert outcomes.get(JobStatus.COMPLETED, 0) >= JOBS * 0.8
    assert_no_partial_files()
    assert storage.incoming_files() == []
