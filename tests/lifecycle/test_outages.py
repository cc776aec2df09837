"""The broker goes away and comes back: nothing is lost, nothing is paid twice, people are told.

A redis-server of the test's own (a free port, stopped and started at will) is the broker of
real subprocesses: ``manage.py sora generate`` and ``doctor`` while it is down, then a real
``qcluster`` once it is back. The database is the test's (SQLite file or PostgreSQL).
"""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from videos.models import JobStatus, VideoJob

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
