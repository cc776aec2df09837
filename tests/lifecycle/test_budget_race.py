"""No spend passes a budget under concurrency: ten drafts submitted at once by ten threads.

Regression for the outside attack run (issue #13): ``services.submit`` checked the budget
without the lock new jobs take, so ten 1.20 USD drafts against a 5.00 USD budget all went
through on PostgreSQL. Real threads with their own connections, on PostgreSQL and SQLite.
"""
from __future__ import annotations

from decimal import Decimal

import pytest

from .races import run_race

RACE = """
from decimal import Decimal
from django.contrib.auth.models import User
from videos import services
from videos.exceptions import BudgetExceeded
from videos.models import JobStatus, VideoJob

user = User.objects.create_user("spender")
drafts = [VideoJob.objects.create(provider="emu", model="sora-2", size="1280x720", seconds=12, prompt_text=f"Draft {n}",
                                  status=JobStatus.DRAFT, estimated_cost=Decimal("1.20"), owner=user)
          for n in range(10)]


def submit(job):
    try:
        services.submit(VideoJob.objects.get(pk=job.pk))
        return "submitted"
    except BudgetExceeded:
        return "refused"


outcome = at_once(submit, drafts)
committed = sum(j.estimated_cost for j in VideoJob.objects.filter(owner=user).exclude(status=JobStatus.DRAFT))
print(json.dumps({"outcome": outcome, "committed": str(committed)}))
"""


def _race(database_url: str, emu, tmp_path) -> dict:
    return run_race(RACE, database_url, emu, tmp_path, USER_MONTHLY_BUDGET="5.00")


@pytest.mark.postgres
def test_ten_drafts_submitted_at_once_on_postgres_stay_within_the_budget(emu, tmp_path, pg_database):
    result = _race(pg_database, emu, tmp_path)
    assert result["outcome"] == ["refused"] * 6 + ["submitted"] * 4, result
    assert Decimal(result["committed"]) == Decimal("4.80")


def test_ten_drafts_submitted_at_once_on_sqlite_stay_within_the_budget(emu, tmp_path):
    result = _race(f"sqlite:///{tmp_path / 'race.sqlite3'}", emu, tmp_path)
    assert result["outcome"] == ["refused"] * 6 + ["submitted"] * 4, result
    assert Decimal(result["committed"]) == Decimal("4.80")
