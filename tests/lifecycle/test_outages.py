"""The broker goes away and comes back: nothing is lost, nothing is paid twice, people are told.

A redis-server of the test's own (a free port, stopped and started at will) is the broker of
real subprocesses: ``manage.py sora generate`` and ``doctor`` while it is down, then a real
``qcluster`` once it is back. The database is the test's (SQLite file or PostgreSQL).
"""
from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from videos import health, services
from videos.models import JobStatus, VideoJob, WebhookEvent

from ..conftest import require
from .test_workers import Cluster, cluster_env, test_database_url, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


class RedisServer:
    """``redis-server`` on a free port, in memory only."""

    def __init__(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def redis_server():
    if shutil.which("redis-server") is None:
        require("Redis", "redis-server is not installed")
    server = RedisServer()
    yield server
    server.stop()


def manage(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_a_job_made_while_the_broker_is_down_is_saved_said_and_submitted_once_it_is_back(
        emu, settings, tmp_path, redis_server):
    env, cfg = cluster_env(emu, tmp_path, test_database_url())
    env["SORA_REDIS_URL"] = redis_server.url
    env["SORA_Q_NAME"] = f"outage-{redis_server.port}"
    settings.MEDIA_ROOT, settings.SORA_VIDEOS = env["DJANGO_MEDIA_ROOT"], cfg

    made = manage(env, "sora", "generate", "A paper boat on a rain puddle, macro", "--size", "1280x720")
    assert made.returncode == 0, made.stderr  # the job exists: a failure here would make a person pay twice
    assert "Traceback" not in made.stderr
    assert "The workers cannot be reached right now" in made.stderr and "need not queue it again" in made.stderr
    job = VideoJob.objects.get(pk=int(made.stdout.strip()))
    assert job.status == JobStatus.PENDING and emu.stats()["requests"]["create"] == 0

    down = manage(env, "sora", "doctor", "--json")
    checks = {c["name"]: c for c in json.loads(down.stdout)}
    assert down.returncode == 1 and not checks["broker"]["ok"]
    assert f"127.0.0.1:{redis_server.port}" in checks["broker"]["detail"]

    redis_server.start()
    cluster = Cluster(env).start()
    try:
        # a starting worker queues the sweep at once; the sweep finds the job no submitter was queued for
        job = wait_for(lambda: VideoJob.objects.filter(pk=job.pk, status__in=JobStatus.final()).first(), 60,
                       "the job made during the outage to be stored", cluster)
        assert job.status == JobStatus.COMPLETED, job.error_message
        assert emu.stats()["requests"]["create"] == 1  # exactly one paid create
        wait_for(lambda: manage(env, "sora", "doctor").returncode == 0, 30, "doctor to pass", cluster)
    finally:
        cluster.stop()


SECRET = "whsec_" + base64.b64encode(b"outage-outage-outage-outage-32by").decode()


def test_a_broker_outage_with_jobs_and_webhooks_in_flight_loses_nothing_and_pays_once(
        emulators, settings, tmp_path, monkeypatch, live_server, redis_server):
    """20 jobs at the provider; Redis goes away while they finish and their webhooks arrive
    (stored, answered 200, their tasks not queued); once it is back every job is stored
    within a few sweep intervals, no event is left pending, and each job was created once."""
    from django_q.conf import Conf

    redis_server.start()
    for name, value in (("ORM", None), ("DJANGO_REDIS", None), ("REDIS", redis_server.url)):
        monkeypatch.setattr(Conf, name, value)  # this process (the site under live_server) uses it too
    monkeypatch.setenv("SORA_TEST_WEBHOOK_SECRET", SECRET)
    emu = emulators.get(webhook_url=f"{live_server.url}/webhooks/emu/", webhook_secret=SECRET, generation_time=6)
    env, cfg = cluster_env(emu, tmp_path, test_database_url(),
                           provider={"WEBHOOK_SECRET_ENV": "SORA_TEST_WEBHOOK_SECRET"})
    env.update(SORA_REDIS_URL=redis_server.url, SORA_Q_NAME=Conf.CLUSTER_NAME)
    settings.MEDIA_ROOT, settings.SORA_VIDEOS = env["DJANGO_MEDIA_ROOT"], cfg
    cluster = Cluster(env).start()
    try:
        jobs = [services.create_video(f"A lantern drifting on a river, shot {i}", size="1280x720")
                for i in range(20)]
        wait_for(lambda: emu.stats()["requests"]["create"] == 20, 60, "the 20 creates", cluster)

        redis_server.stop()  # the outage: the jobs finish at the provider meanwhile
        wait_for(lambda: WebhookEvent.objects.count() == 20, 60, "the 20 webhooks to be stored", cluster)
        assert health.broker().ok is False
        assert WebhookEvent.objects.filter(outcome="pending").exists()
        time.sleep(2)

        redis_server.start()
        recovered = time.monotonic()
        wait_for(lambda: VideoJob.objects.filter(pk__in=[j.pk for j in jobs], status=JobStatus.COMPLETED).count()
                 == 20, 150, "every job to be stored after the outage", cluster)
        print(f"stored {time.monotonic() - recovered:.1f} s after the broker came back")
        assert not WebhookEvent.objects.filter(outcome="pending").exists()
        assert emu.stats()["requests"]["create"] == 20 and emu.stats()["jobs_created"] == 20
        assert health.broker().ok
    finally:
        cluster.stop()
