"""A lease is held by one holder at a time: its single-statement upsert (PostgreSQL, SQLite)
decides, for callers at the same moment as for a lease that ran out."""
from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from videos.models import Lease

from .races import run_race

pytestmark = pytest.mark.django_db


def test_a_lease_is_taken_renewed_refused_and_taken_over_once_it_runs_out():
    assert Lease.acquire("sweep:emu", "a", 30)
    assert Lease.acquire("sweep:emu", "a", 30)  # its holder renews it
    assert not Lease.acquire("sweep:emu", "b", 30)  # another waits while it is live
    assert Lease.objects.get(name="sweep:emu").holder == "a"
    Lease.objects.filter(name="sweep:emu").update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert Lease.acquire("sweep:emu", "b", 30)  # run out: anyone takes it
    lease = Lease.objects.get(name="sweep:emu")
    assert lease.holder == "b" and lease.expires_at > timezone.now() + dt.timedelta(seconds=25)
    Lease.release("sweep:emu", "a")  # not its holder any more: nothing happens
    assert Lease.held("sweep:emu")
    Lease.release("sweep:emu", "b")
    assert not Lease.held("sweep:emu") and Lease.acquire("sweep:emu", "c", 30)


RACE = """
from videos.models import Lease

outcome = at_once(lambda n: Lease.acquire("race", f"holder{n}", 30), range(8))
print(json.dumps({"outcome": outcome, "holders": list(Lease.objects.values_list("holder", flat=True))}))
"""


@pytest.mark.postgres
def test_eight_callers_at_the_same_moment_one_takes_the_lease_on_postgres(emu, tmp_path, pg_database):
    result = run_race(RACE, pg_database, emu, tmp_path)
    assert result["outcome"] == [False] * 7 + [True] and len(result["holders"]) == 1, result
