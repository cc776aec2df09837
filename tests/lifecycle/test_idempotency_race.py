"""The same create sent six times at once with one Idempotency-Key makes one job: six threads,
each its own PostgreSQL connection, through the real API (bearer token, JSON)."""
from __future__ import annotations

import pytest

from .races import run_race

RACE = """
from django.contrib.auth.models import Group, User
from django.test import Client
from django.test.utils import setup_test_environment
from videos import roles, tokens
from videos.models import VideoJob

setup_test_environment()
roles.ensure_roles()
user = User.objects.create_user("bot")
user.groups.add(Group.objects.get(name=roles.MAKERS))
_, raw = tokens.create(user, "race")


def post(n):
    response = Client().post("/api/videos/", json.dumps({"prompt": "A kite over the sea", "seconds": 4}),
                             content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}",
                             HTTP_IDEMPOTENCY_KEY="order-42")
    return response.status_code


outcome = at_once(post, list(range(6)))
print(json.dumps({"outcome": outcome, "jobs": VideoJob.objects.count()}))
"""


@pytest.mark.postgres
def test_one_idempotency_key_sent_six_times_at_once_makes_one_job_on_postgres(emu, tmp_path, pg_database):
    result = run_race(RACE, pg_database, emu, tmp_path)
    assert result == {"outcome": [200] * 5 + [201], "jobs": 1}, result
