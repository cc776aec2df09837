"""Real qcluster processes: killed with SIGKILL mid-submit and mid-download, and racing on PostgreSQL."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from videos import services
from videos.models import JobStatus, Lease, VideoJob

from ..support import sora_settings
from .helpers import assert_assets_match_emulator, assert_no_partial_files

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


class Cluster:
    """``manage.py qcluster`` in its own process group, sharing the test's database and media."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.proc: subprocess.Popen | None = None
        self.log = open(Path(env["DJANGO_MEDIA_ROOT"]).parent / f"qcluster-{uuid.uuid4().hex[:6]}.log", "w+")

    def start(self) -> "Cluster":
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "qcluster"], cwd=ROOT, env=self.env,
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        return self

    def kill(self) -> None:
        """SIGKILL every process of the cluster at once, as a crash would."""
        if self.proc:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # the cluster's own shutdown stops its workers
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        self.kill()

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()[-4000:]


def cluster_env(emu, tmp_path, database_url: str, **options) -> tuple[dict, dict]:
    cfg = sora_settings(emu, **{"SWEEP_DURATION": 5.0, **options})
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_MEDIA_ROOT": str(tmp_path / "media"),
        "SORA_VIDEOS_JSON": json.dumps(cfg),
        "SORA_Q_WORKERS": "2",
        "SORA_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    return env, cfg


def test_database_url() -> str:
    """The URL of the database this test uses, for processes the test starts."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


test_database_url.__test__ = False  # a helper, not a test


@pytest.fixture
def cluster(emu, settings, tmp_path):
    """qclusters sharing this test's database (SQLite file or PostgreSQL) and settings."""
    env, cfg = cluster_env(emu, tmp_path, test_database_url())
    settings.MEDIA_ROOT = env["DJANGO_MEDIA_ROOT"]
    settings.SORA_VIDEOS = cfg
    clusters: list[Cluster] = []

    def factory() -> Cluster:
        cluster = Cluster(env).start()
        clusters.append(cluster)
        return cluster

    yield factory
    for cluster in clusters:
        cluster.stop()


def wait_for(predicate, timeout: float, what: str, cluster: Cluster | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cluster is not None and cluster.proc.poll() is not None:
            raise AssertionError(f"the qcluster exited while waiting for {what}\n{cluster.output()}")
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    detail = cluster.output() if cluster else ""
    raise AssertionError(f"timed out waiting for {what}\n{detail}")


def kick_sweep() -> None:
    """What the scheduler does every minute, now."""
    from django_q.tasks import async_task

    async_task("videos.tasks.sweep")


def test_a_running_cluster_is_what_doctor_calls_a_worker_that_answered(emu, cluster):
    """The minute schedule's sweep, run by a real worker, marks the workers alive (health);
    the same sweep run outside a worker (the CLI's --wait, a shell) does not."""
    from videos import health, tasks

    tasks.sweep()
    assert not health.workers().ok
    c = cluster()
    kick_sweep()
    check = wait_for(lambda: (found := health.workers()).ok and found, 60, "the workers' mark", c)
    assert "answered" in check.detail and ":" in check.detail  # host:pid of the worker


def test_worker_killed_mid_submit_still_completes_once(emu, cluster):
    emu.set_faults([{"endpoint": "create", "fault": "slow", "delay": 2.0, "times": 1}])
    first = cluster()
    job = services.create_video("A heron standing in fog", size="1280x720")
    wait_for(lambda: VideoJob.objects.filter(pk=job.pk, status=JobStatus.SUBMITTING).exists(), 30,
             "the claim", first)
    wait_for(lambda: emu.stats()["requests"]["create"] == 1, 10, "the create request to be in flight", first)
    first.kill()
    second = cluster()
    kick_sweep()
    job = wait_for(lambda: VideoJob.objects.filter(pk=job.pk, status__in=JobStatus.final() + (
        JobStatus.NEEDS_ATTENTION,)).first(), 60, "the job to finish", second)
    assert job.status == JobStatus.COMPLETED, job.error_message
    assert emu.stats()["jobs_created"] == 1 and emu.stats()["requests"]["create"] == 1
    assert_assets_match_emulator(job, emu)
    assert_no_partial_files()


def test_worker_killed_mid_download_still_completes_once(emu, cluster):
    emu.set_faults([{"endpoint": "content", "fault": "slow", "delay": 3.0, "times": 1}])
    first = cluster()
    job = services.create_video("A heron standing in fog", size="1280x720")
    wait_for(lambda: VideoJob.objects.filter(pk=job.pk, status=JobStatus.DOWNLOADING,
                                             download_heartbeat_at__isnull=False).exists(), 30, "the download", first)
    wait_for(lambda: emu.stats()["requests"]["content"] >= 1, 10, "the content request", first)
    first.kill()
    second = cluster()
    kick_sweep()
    job = wait_for(lambda: VideoJob.objects.filter(pk=job.pk, status__in=JobStatus.final() + (
        JobStatus.NEEDS_ATTENTION,)).first(), 60, "the job to finish", second)
    assert job.status == JobStatus.COMPLETED, job.error_message
    assert emu.stats()["jobs_created"] == 1
    assert job.assets.count() == 3
    assert_assets_match_emulator(job, emu)
    assert_no_partial_files()


# --- PostgreSQL ---------------------------------------------------------------------------
RACE_SCRIPT = """
import django, os, sys
django.setup()
from django_q.tasks import async_task
from videos import services
jobs = [services.create_video(f"Racing shot {i}", size="1280x720") for i in range(int(sys.argv[1]))]
for job in jobs:  # every submission queued three times: only one may reach the provider
    async_task("videos.tasks.submit_job", job.pk)
    async_task("videos.tasks.submit_job", job.pk)
print(",".join(str(j.pk) for j in jobs))
"""


@pytest.mark.postgres
def test_two_clusters_racing_on_postgres_never_submit_a_job_twice(emu, pg_database, tmp_path):
    env, cfg = cluster_env(emu, tmp_path, pg_database)
    env["DJANGO_SETTINGS_MODULE"] = "sora_project.settings"
    clusters = [Cluster(env).start(), Cluster(env).start()]
    try:
        out = subprocess.run([sys.executable, "-c", RACE_SCRIPT, "12"], cwd=ROOT, env=env, check=True,
                             capture_output=True, text=True).stdout.strip()
        ids = out.splitlines()[-1].split(",")
        import psycopg

        def completed() -> bool:
            with psycopg.connect(pg_database) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM sora_videos_videojob WHERE id = ANY(%s) AND status = 'completed'",
                    ([int(i) for i in ids],),
                ).fetchone()
            return row[0] == len(ids)

        wait_for(completed, 120, "all racing jobs to complete", clusters[0])
    finally:
        for cluster in clusters:
            cluster.stop()
    stats = emu.stats()
    assert stats["jobs_created"] == len(ids)
    assert stats["requests"]["create"] == len(ids)


@pytest.mark.parametrize("sweep_duration", [None, 60], ids=["default-sweep", "sweep-longer-than-the-wait"])
def test_qcluster_stops_within_10_s_of_sigterm_while_a_sweep_runs(emulators, settings, tmp_path, sweep_duration):
    """A deploy must not end in a SIGKILL: the sweep hands over and the cluster exits (issue #13).

    With a 60 s sweep only the sweep's check of the cluster's stop event (videos.shutdown)
    can end it within the 10 s: the short default alone would not prove that check works.
    """
    slow = emulators.get(dialect="openai", generation_time=120)
    env, cfg = cluster_env(slow, tmp_path, test_database_url(), POLL_INTERVAL=1.0)
    cfg = {k: v for k, v in cfg.items() if k != "SWEEP_DURATION"}  # the default ...
    if sweep_duration is not None:
        cfg["SWEEP_DURATION"] = sweep_duration  # ... or one no wait could outlast
    env["SORA_VIDEOS_JSON"] = json.dumps(cfg)
    settings.MEDIA_ROOT = env["DJANGO_MEDIA_ROOT"]
    settings.SORA_VIDEOS = cfg
    job = services.create_video("A slow sunrise", size="1280x720")
    cluster = Cluster(env).start()
    try:
        wait_for(lambda: VideoJob.objects.filter(pk=job.pk, status=JobStatus.QUEUED).exists(), 60,
                 "the job to be submitted", cluster)
        wait_for(lambda: Lease.objects.filter(name="sweep:emu", holder__gt="").exists(), 60, "a sweep to run",
                 cluster)
        cluster.proc.terminate()  # SIGTERM to the qcluster process, as docker stop or systemd (KillMode=mixed) do
        cluster.proc.wait(10)  # raises TimeoutExpired if the cluster is still there after 10 s
    finally:
        cluster.kill()
    assert not Lease.objects.filter(name="sweep:emu", holder__gt="", expires_at__gt=timezone.now()).exists()
