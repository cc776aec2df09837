"""Queuing a task costs a command on a kept connection to Redis, not a new connection: django-q2's
``get_broker()`` builds a new client (and connection pool) on every call, so the app keeps one
per configuration (``videos.queue.broker``)."""
from __future__ import annotations

import uuid

import pytest
import redis

from videos import pipeline, queue

pytestmark = pytest.mark.django_db


def test_many_tasks_and_queue_looks_share_one_redis_connection(redis_url, monkeypatch,
                                                               django_capture_on_commit_callbacks):
    from django_q.conf import Conf

    for name, value in (("ORM", None), ("DJANGO_REDIS", None), ("REDIS", redis_url),
                        ("CLUSTER_NAME", f"sora-conn-{uuid.uuid4().hex[:8]}")):
        monkeypatch.setattr(Conf, name, value)
    observer = redis.Redis.from_url(redis_url)
    before = observer.info("stats")["total_connections_received"]
    try:
        with django_capture_on_commit_callbacks(execute=True):
            for n in range(20):
                queue.enqueue("videos.tasks.fingerprint_job", n)
        assert [pipeline._queued_tasks() for _ in range(5)] == [20] * 5
        assert not queue.unreachable()
        opened = observer.info("stats")["total_connections_received"] - before
        assert opened == 1, f"{opened} connections for 20 tasks and 5 looks"
        assert queue.broker() is queue.broker()
    finally:
        queue.broker().delete_queue()
