"""What a job's status change costs: the sequence receivers look a sequence up only when the
change can alter one (into or out of a bad state), not on every job's common path."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from videos.models import JobStatus, SequenceShot, SequenceStatus

from ..factories import SequenceFactory, VideoJobFactory

pytestmark = pytest.mark.django_db


def _sequence_queries(job, to, expect, capture) -> list[str]:
    with CaptureQueriesContext(connection) as ctx, capture(execute=True):
        assert job.transition(to, expect=expect)
    return [q["sql"] for q in ctx.captured_queries if "sequence" in q["sql"]]


def test_the_common_path_of_a_job_looks_up_no_sequence(django_capture_on_commit_callbacks):
    job = VideoJobFactory(status=JobStatus.PENDING)
    path = [JobStatus.SUBMITTING, JobStatus.QUEUED, JobStatus.IN_PROGRESS]
    for old, new in zip([JobStatus.PENDING, *path], path):
        assert _sequence_queries(job, new, (old,), django_capture_on_commit_callbacks) == []


def test_a_failing_shot_still_moves_its_sequence(django_capture_on_commit_callbacks):
    sequence = SequenceFactory(status=SequenceStatus.RENDERING)
    job = VideoJobFactory(status=JobStatus.IN_PROGRESS, remote_id="video_shot_1")
    SequenceShot.objects.create(sequence=sequence, position=1, prompt_text="a harbour at dawn", seconds=4, job=job)
    assert _sequence_queries(job, JobStatus.FAILED, (JobStatus.IN_PROGRESS,), django_capture_on_commit_callbacks)
    sequence.refresh_from_db()
    assert sequence.status == SequenceStatus.NEEDS_ATTENTION
