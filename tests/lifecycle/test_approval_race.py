"""Approval submits exactly once: eight reviewers approve the same job at the same moment, each
in its own thread with its own PostgreSQL connection (the conditional status update decides)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..support import sora_settings

ROOT = Path(__file__).resolve().parents[2]

RACE = """
import django, json, threading
django.setup()
from decimal import Decimal
from django.contrib.auth.models import User
from django.db import connection
from videos import services
from videos.exceptions import JobStateError
from videos.models import JobStatus, VideoJob, VideoJobEvent

maker = User.objects.create_user("maker")
reviewers = [User.objects.create_user(f"reviewer{n}") for n in range(8)]
job = VideoJob.objects.create(provider="emu", model="sora-2", size="1280x720", seconds=12, prompt_text="Costly",
                              status=JobStatus.AWAITING_APPROVAL, estimated_cost=Decimal("1.20"), owner=maker)
start = threading.Barrier(len(reviewers))
outcome = []

def decide(user):
    start.wait()
    try:
        services.approve(VideoJob.objects.get(pk=job.pk), user=user)
        outcome.append("approved")
    except JobStateError:
        outcome.append("refused")
    finally:
        connection.close()

threads = [threading.Thread(target=decide, args=(u,)) for u in reviewers]
for t in threads:
    t.start()
for t in threads:
    t.join()
events = VideoJobEvent.objects.filter(job=job, to_status=JobStatus.PENDING).count()
print(json.dumps({"outcome": sorted(outcome), "status": VideoJob.objects.get(pk=job.pk).status, "events": events}))
"""


@pytest.mark.postgres
def test_reviewers_approving_at_the_same_moment_submit_it_once_on_postgres(emu, tmp_path, pg_database):
    env = {**os.environ, "DATABASE_URL": pg_database, "DJANGO_SETTINGS_MODULE": "sora_project.settings",
           "SORA_VIDEOS_JSON": json.dumps(sora_settings(emu, APPROVAL_ABOVE="0.50")),
           "DJANGO_MEDIA_ROOT": str(tmp_path / "media"), "SORA_LOG_LEVEL": "WARNING"}
    env.pop("SORA_REDIS_URL", None)
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    done = subprocess.run([sys.executable, "-c", RACE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"outcome": ["approved"] + ["refused"] * 7, "status": "pending", "events": 1}, result
