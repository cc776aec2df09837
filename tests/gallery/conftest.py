"""Gallery fixtures: real videos made through the emulator, cloned in bulk for volume."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Callable

import pytest
from django.utils import timezone

from videos import services
from videos.models import JobStatus, VideoAsset, VideoJob
from videos.permissions import APP_LABEL
from videos.storage import asset_key, store_file

from ..factories import UserFactory
from ..profile_checks import local_storage  # noqa: F401 (fixture)
from ..support import settle

PASSWORD = "correct horse battery staple"
PROMPT = "A paper boat drifts down a rainy street gutter, macro lens"


def make_user(django_user_model: Any, username: str, *perms: str, **fields: Any) -> Any:
    """A gallery user with the app's permissions named in full (``sora_videos.view_videojob``)."""
    codenames = [perm.removeprefix(f"{APP_LABEL}.") for perm in perms]
    return UserFactory(username=username, password=PASSWORD, perms=codenames, **fields)


@pytest.fixture
def viewer(django_user_model: Any) -> Any:
    return make_user(django_user_model, "viewer", "sora_videos.view_videojob", first_name="Vera", last_name="Viewer")


@pytest.fixture
def stranger(django_user_model: Any) -> Any:
    """Signed in, but without the permission to view videos."""
    return make_user(django_user_model, "stranger")


@pytest.fixture
def operator(django_user_model: Any) -> Any:
    return make_user(django_user_model, "operator", "sora_videos.view_videojob", "sora_videos.change_videojob",
                     "sora_videos.delete_videojob", is_staff=True)


_made: dict[str, Any] = {}


@pytest.fixture
def real_job(sora: Any, viewer: Any, tmp_path_factory: Any) -> VideoJob:
    """A completed video with real files in this test's storage.

    The first use in a session makes it for real (the SDK over HTTP to the emulator, then
    downloaded, checked and stored by the worker code) and keeps its files; later uses
    put those same files under a fresh job's keys, which saves a generation per test.
    """
    if "job" not in _made:
        job = services.create_video(PROMPT, size="1280x720", seconds=4, user=viewer)
        [job] = settle([job])
        assert job.status == JobStatus.COMPLETED, job.error_message
        keep = tmp_path_factory.mktemp("real-job")
        files = {}
        for asset in job.assets.all():
            files[asset.variant] = keep / asset.variant
            with asset.file.open("rb") as src:
                files[asset.variant].write_bytes(src.read())
        _made["job"] = {f.attname: getattr(job, f.attname) for f in VideoJob._meta.concrete_fields
                        if f.attname not in ("id", "uuid", "owner_id", "remote_id", "created_at", "updated_at")}
        _made["assets"] = [
            ({f.attname: getattr(a, f.attname) for f in VideoAsset._meta.concrete_fields
              if f.attname not in ("id", "job_id", "file")}, files[a.variant])
            for a in job.assets.all()
        ]
        return job
    job = VideoJob.objects.create(**_made["job"], owner=viewer)
    for fields, path in _made["assets"]:
        key = store_file(asset_key(job.uuid, fields["variant"]), _copy(path))
        VideoAsset.objects.create(job=job, file=key, **fields)
    return job


def _copy(path: Any) -> str:
    import shutil

    from videos.storage import temp_file

    with temp_file() as tmp:
        pass
    shutil.copyfile(path, tmp.name)
    return tmp.name


@pytest.fixture
def clone_jobs() -> Callable[..., list[VideoJob]]:
    """Copy a completed job's row and asset rows ``n`` times (bulk inserts; the files are shared)."""

    def clone(source: VideoJob, n: int, *, start: dt.datetime | None = None, **overrides: Any) -> list[VideoJob]:
        assets = list(source.assets.all())
        start = start or source.created_at - dt.timedelta(minutes=1)
        rows = []
        for i in range(n):
            fields = {f.attname: getattr(source, f.attname) for f in VideoJob._meta.concrete_fields
                      if f.attname not in ("id", "uuid", "remote_id", "created_at", "updated_at")}
            fields.update(uuid=uuid.uuid4(), remote_id=None, created_at=start - dt.timedelta(seconds=i),
                          prompt_text=f"Clip {i}: {source.prompt_text}")
            fields.update({k: (v(i) if callable(v) else v) for k, v in overrides.items()})
            rows.append(VideoJob(**fields))
        made = VideoJob.objects.bulk_create(rows, batch_size=500)
        if not made or made[0].pk is None:  # backends that do not return ids
            made = list(VideoJob.objects.filter(uuid__in=[r.uuid for r in rows]))
        VideoAsset.objects.bulk_create(
            [
                VideoAsset(job=job, variant=a.variant, file=a.file.name, bytes=a.bytes, sha256=a.sha256,
                           content_type=a.content_type, width=a.width, height=a.height, duration=a.duration,
                           derived=a.derived)
                for job in made if job.status == JobStatus.COMPLETED for a in assets
            ],
            batch_size=1000,
        )
        return made

    return clone


@pytest.fixture
def now() -> dt.datetime:
    return timezone.now()
