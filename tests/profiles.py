"""Test profiles, chosen with SORA_TEST_PROFILE before Django's settings load.

- ``default``: the embedded defaults (SQLite, django-q2 ORM broker, local files).
- ``production``: PostgreSQL, the Redis broker and S3 (a moto server started here), set
  through the same environment variables a deployment uses (docs/settings.md).

Loaded with ``-p tests.profiles`` (pyproject's addopts) so it runs before pytest-django
sets Django up.
"""
from __future__ import annotations

import os
import socket

import pytest

PROFILE = os.environ.get("SORA_TEST_PROFILE", "default")
_moto = None


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _start_production() -> None:
    global _moto
    missing = [name for name, port in (("PostgreSQL", 5432), ("Redis", 6379)) if not _port_open(port)]
    if missing:
        raise pytest.UsageError(
            f"SORA_TEST_PROFILE=production needs {' and '.join(missing)} on 127.0.0.1 (bin/test starts them "
            "when installed)."
        )
    # unique per run and per xdist worker, so runs side by side never share a queue or bucket
    run = (os.environ.get("PYTEST_XDIST_TESTRUNUID") or os.urandom(4).hex())[:8]
    worker = f"{run}-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
    os.environ.setdefault("SORA_REDIS_URL", "redis://127.0.0.1:6379/14")
    os.environ["SORA_Q_NAME"] = f"sora-test-{worker}"  # one queue per test process
    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's request log
    _moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    _moto.start()
    os.environ.update(
        SORA_S3_BUCKET=f"sora-test-{worker}",
        SORA_S3_ENDPOINT_URL=f"http://127.0.0.1:{port}",
        SORA_S3_REGION="us-east-1",
        SORA_S3_ACCESS_KEY_ID="testing",
        SORA_S3_SECRET_ACCESS_KEY="testing",
    )
    import boto3

    boto3.client(
        "s3", endpoint_url=os.environ["SORA_S3_ENDPOINT_URL"], region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    ).create_bucket(Bucket=os.environ["SORA_S3_BUCKET"])


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(early_config, parser, args):  # type: ignore[no-untyped-def]
    if PROFILE == "production":
        _start_production()
    elif PROFILE != "default":
        raise pytest.UsageError(f"Unknown SORA_TEST_PROFILE {PROFILE!r}: use default or production.")
    return (yield)


def pytest_report_header(config):  # type: ignore[no-untyped-def]
    if PROFILE == "production":
        return f"profile: production (PostgreSQL, Redis broker, S3 at {os.environ['SORA_S3_ENDPOINT_URL']})"
    return "profile: default (SQLite, ORM broker, local files)"


def pytest_unconfigure(config):  # type: ignore[no-untyped-def]
    if _moto is not None:
        _moto.stop()
