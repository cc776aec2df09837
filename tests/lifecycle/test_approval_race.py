"""Approval submits exactly once: eight reviewers approve the same job at the same moment, each
in its own thread with its own PostgreSQL connection (the conditional status update decides)."""
from __future__ import annotations

import pytest

from .races import run_race

RACE = """
from decimal import Decimal
from django.contrib.auth.models import User
from videos import services
from videos.exceptions import JobStateError
from videos.models import JobStatus, VideoJob, VideoJobEvent

maker = User.objects.create_user("maker")
reviewers = [User.objects.create_user(f"reviewer{n}") for n in range(8)]
job = VideoJob.objects.create(provider="emu", model="sora-2", size="1280x720", seconds=12, prompt_text="Costly",
                              status=JobStatus.AWAITING_APPROVAL, estimated_cost=Decimal("1.20"), owner=maker)


def decide(user):
    try:
        services.approve(VideoJob.objects.get(pk=job.pk), user=user)
        return "approved"
    except JobStateError:
        return "refused"


outcome = at_once(decide, reviewers)
events = VideoJobEvent.objects.filter(job=job, to_status=JobStatus.PENDING).count()
print(json.dumps({"outcome": outcome, "status": VideoJob.objects.get(pk=job.pk).status, "events": events}))
"""


@pytest.mark.postgres
def test_reviewers_approving_at_the_same_moment_submit_it_once_on_postgres(emu, tmp_path, pg_database):
    result = run_race(RACE, pg_database, emu, tmp_path, APPROVAL_ABOVE="0.50")
    assert result == {"outcome": ["approved"] + ["refused"] * 7, "status": "pending", "events": 1}, result
