"""Checks that hold under both test profiles (tests/profiles.py).

Local files (``default``) are streamed by the media view; on S3 (``production``) the view
answers with a 302 to a short-lived signed URL, which these helpers verify and follow with
urllib to get the bytes a browser would get. The queue helpers read whichever django-q2
broker is configured (ORM rows or the Redis list).
"""
from __future__ import annotations

import os
import urllib.error
import urllib.request
from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from django_q.brokers import get_broker
from django_q.signing import SignedPackage


def uses_s3() -> bool:
    """Whether the app's storage is remote (S3), i.e. media responses are signed redirects."""
    from videos.storage import _local_root, get_storage

    return _local_root(get_storage()) is None


def signed_url(response: Any) -> str:
    """The signed, expiring S3 URL a media response redirects to (asserted, never cached)."""
    assert response.status_code == 302, response.status_code
    assert not getattr(response, "streaming", False)
    location = response["Location"]
    query = parse_qs(urlsplit(location).query)
    assert ("Signature" in query and "Expires" in query and "AWSAccessKeyId" in query) or (
        "X-Amz-Signature" in query and "X-Amz-Expires" in query), location
    assert response["Cache-Control"] == "private, no-store"
    return location


def fetch(url: str, **headers: str) -> tuple[int, Any, bytes]:
    """GET ``url`` (the signed S3 URL): status, headers and body, errors included."""
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, reply.headers, reply.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers, exc.read()


def assert_served(response: Any) -> None:
    """The media view let the request through: 200 streaming locally, a signed redirect on S3."""
    if uses_s3():
        signed_url(response)
    else:
        assert response.status_code == 200, response.status_code
        assert response.streaming


def media_body(response: Any) -> bytes:
    """The whole file as the client ends up with it (the streamed body, or the signed URL's)."""
    if uses_s3():
        status, _, data = fetch(signed_url(response))
        assert status == 200, status
        return data
    assert response.status_code == 200, response.status_code
    return b"".join(response.streaming_content)


def disposition(response: Any) -> str:
    """``Content-Disposition`` of a media response: a header locally, a signed query parameter on S3."""
    if uses_s3():
        values = parse_qs(urlsplit(signed_url(response)).query).get("response-content-disposition", [""])
        return values[0]
    assert response.status_code == 200, response.status_code
    return response["Content-Disposition"]


def queued_calls() -> list[tuple[str, tuple]]:
    """``(function name, args)`` of the tasks waiting in the broker (ORM or Redis), oldest first."""
    broker = get_broker()
    from django_q.brokers.redis_broker import Redis

    if isinstance(broker, Redis):
        payloads = broker.connection.lrange(broker.list_key, 0, -1)
    else:
        from django_q.models import OrmQ

        payloads = [q.payload for q in OrmQ.objects.filter(key=broker.list_key).order_by("pk")]
    return [(task["func"], tuple(task.get("args", ()))) for task in map(SignedPackage.loads, payloads)]


def queued_funcs() -> list[str]:
    """Function names of the tasks waiting in the broker (ORM or Redis), oldest first."""
    return [func for func, _ in queued_calls()]


@pytest.fixture(autouse=True)
def empty_queue() -> Iterator[None]:
    """Start every test with an empty Redis queue (ORM broker rows go with the test's database).

    The Redis list outlives tests: without this, tasks a test queued and never ran would be
    run by the next test's drain() (and counted by queued_funcs()).
    """
    from django.conf import settings

    if "redis" in settings.Q_CLUSTER:
        get_broker().purge_queue()
    yield


@pytest.fixture
def local_storage(settings: Any, sora: Any, tmp_path: Any) -> Any:
    """Local files for this test whatever the profile: for tests of the view's own file serving
    (Range, If-Range, validators, streaming in blocks), which exists only for FileSystemStorage."""
    settings.MEDIA_ROOT = str(tmp_path / "local-media")
    settings.STORAGES = {**settings.STORAGES,
                         "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    assert not uses_s3()
    return sora


class missing_bucket:
    """The storage pointed at a bucket that does not exist: on the profile's moto server, or
    moto in-process under the default profile."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self.bucket = "sora-no-such-bucket"
        self.mock: Any = None

    def __enter__(self) -> str:
        options = {"bucket_name": self.bucket, "region_name": "us-east-1", "access_key": "testing",
                   "secret_key": "testing", "file_overwrite": True, "default_acl": None}
        if uses_s3():
            options["endpoint_url"] = os.environ["SORA_S3_ENDPOINT_URL"]
        else:
            import moto

            self.mock = moto.mock_aws()
            self.mock.start()
        self.settings.STORAGES = {**self.settings.STORAGES,
                                  "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}}
        return self.bucket

    def __exit__(self, *exc: object) -> None:
        if self.mock is not None:
            self.mock.stop()
