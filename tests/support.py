"""Test helpers: run the real django-q2 ORM broker's queue in-process, and settle jobs."""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from typing import Any, Iterable, Iterator

from django.utils.module_loading import import_string
from django_q.brokers import get_broker
from django_q.signing import SignedPackage

from videos import conf
from videos.models import JobStatus, VideoJob


@contextlib.contextmanager
def asset_file(asset: Any) -> Iterator[str]:
    """A local path with the asset's bytes, whatever the storage (copied out of S3)."""
    try:
        yield asset.file.path
        return
    except NotImplementedError:
        pass
    suffix = os.path.splitext(asset.file.name)[1]
    with tempfile.NamedTemporaryFile(suffix=suffix) as tmp:
        with asset.file.open("rb") as fh:
            shutil.copyfileobj(fh, tmp)
        tmp.flush()
        yield tmp.name


def drain(limit: int = 1000) -> int:
    """Execute what the broker holds (and what those tasks enqueue), like a worker would."""
    broker = get_broker()
    done = 0
    while done < limit and broker.queue_size():
        for ack_id, payload in broker.dequeue() or []:
            task = SignedPackage.loads(payload)
            import_string(task["func"])(*task.get("args", ()), **task.get("kwargs", {}))
            broker.acknowledge(ack_id)
            done += 1
    return done


def queued_funcs() -> list[str]:
    """Function names of the queued tasks, whichever broker (see tests/profile_checks.py)."""
    from .profile_checks import queued_funcs as read

    return read()


def settle(jobs: Iterable[VideoJob] | None = None, *, timeout: float = 30.0, step: float = 0.05) -> list[VideoJob]:
    """Run queue and sweeps until the given jobs (default: all) stop moving on their own."""
    from videos.pipeline import sweep_once
    from videos.providers import get_provider

    ids = [j.pk for j in jobs] if jobs is not None else None
    deadline = time.monotonic() + timeout
    while True:
        drain()
        for name in conf.providers():
            sweep_once(get_provider(name))
        drain()
        qs = VideoJob.objects.all() if ids is None else VideoJob.objects.filter(pk__in=ids)
        if not qs.filter(status__in=JobStatus.active()).exists():
            return list(qs.order_by("pk"))
        if time.monotonic() > deadline:
            states = list(qs.values_list("pk", "status", "error_message"))
            raise AssertionError(f"jobs still active after {timeout} s: {states}")
        time.sleep(step)


def sora_settings(emu: Any, **options: Any) -> dict[str, Any]:
    """SORA_VIDEOS for a test: one provider at ``emu`` with fast timings."""
    provider = {
        "BASE_URL": emu.base_url,
        "API_KEY_ENV": "SORA_TEST_API_KEY",
        "EMULATOR": True,
        "DIALECT": getattr(emu, "dialect", "openai"),
        "MAX_IN_FLIGHT": 50,
        "CREATES_PER_MINUTE": 1000,
    }
    provider.update(options.pop("provider", {}))
    if os.environ.get("SORA_TEST_PROFILE") == "production":
        # downloads for S3 go through the system temp dir: one per test process, so parallel
        # test processes never see each other's files in flight
        options.setdefault("TEMP_DIR", os.path.join(tempfile.gettempdir(), f"sora-test-incoming-{os.getpid()}"))
    return {
        "PROVIDERS": {"emu": provider},
        "POLL_INTERVAL": 0.1,
        "SUBMIT_TIMEOUT": 5.0,
        "SUBMIT_GRACE": 1.0,
        "RETRY_BACKOFF": 0.1,
        "DOWNLOAD_STALL": 5.0,
        "SWEEP_LEASE": 2.0,
        "SWEEP_DURATION": 0.0,  # one pass per sweep task: settle() and the test worker loop themselves
        "WEBHOOKS_ALLOW_PRIVATE": True,  # the tests' webhook receivers listen on 127.0.0.1
        **options,
    }
