"""No spend passes a budget under concurrency: ten drafts submitted at once by ten threads.

Regression for the outside attack run (issue #13): ``services.submit`` checked the budget
without the lock new jobs take, so ten 1.20 USD drafts against a 5.00 USD budget all went
through on PostgreSQL. Real threads with their own connections, on PostgreSQL and SQLite.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from ..support import sora_settings

ROOT = Path(__file__).resolve().parents[2]

RACE = """
import django, json, sys, threading
django.setup()
from decimal import Decimal
from django.contrib.auth.models import User
from django.db import connection
from videos import services
from videos.exceptions import BudgetExceeded
from videos.models import JobStatus, VideoJob

user = User.objects.create_user("spender")
drafts = [VideoJob.objects.create(provider="emu", model="sora-2", size="1280x720", seconds=12, prompt_text=f"Draft {n}",
                                  status=JobStatus.DRAFT, estimated_cost=Decimal("1.20"), owner=user)
          for n in range(10)]
start = threading.Barrier(len(drafts))
outcome = []

def submit(job):
    start.wait()
    try:
        services.submit(VideoJob.objects.get(pk=job.pk))
        outcome.append("submitted")
    except BudgetExceeded:
        outcome.append("refused")
    finally:
        connection.close()

threads = [threading.Thread(target=submit, args=(job,)) for job in drafts]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
committed = sum(j.estimated_cost for j in VideoJob.objects.filter(owner=user).exclude(status=JobStatus.DRAFT))
print(json.dumps({"outcome": sorted(outcome), "committed": str(committed)}))
"""


def _race(database_url: str, emu, tmp_path) -> dict:
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "sora_project.settings",
           "SORA_VIDEOS_JSON": json.dumps(sora_settings(emu, USER_MONTHLY_BUDGET="5.00")),
           "DJANGO_MEDIA_ROOT": str(tmp_path / "media"), "SORA_LOG_LEVEL": "WARNING"}
    env.pop("SORA_REDIS_URL", None)  # the ORM broker: enqueueing is part of the same transaction
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    done = subprocess.run([sys.executable, "-c", RACE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.postgres
def test_ten_drafts_submitted_at_once_on_postgres_stay_within_the_budget(emu, tmp_path, pg_database):
    result = _race(pg_database, emu, tmp_path)
    assert result["outcome"] == ["refused"] * 6 + ["submitted"] * 4, result
    assert Decimal(result["committed"]) == Decimal("4.80")


def test_ten_drafts_submitted_at_once_on_sqlite_stay_within_the_budget(emu, tmp_path):
    result = _race(f"sqlite:///{tmp_path / 'race.sqlite3'}", emu, tmp_path)
    assert result["outcome"] == ["refused"] * 6 + ["submitted"] * 4, result
    assert Decimal(result["committed"]) == Decimal("4.80")
