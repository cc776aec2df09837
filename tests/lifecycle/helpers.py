"""Assertions shared by the lifecycle tests (storage-agnostic: local disk or S3)."""
from __future__ import annotations

import hashlib
import time

from videos import media, storage
from videos.models import VideoJob

from ..support import asset_file


def assert_no_partial_files() -> None:
    """Nothing half-written is visible: no staging objects, no leftover downloads."""
    store = storage.get_storage()
    leftovers = [str(p) for p in storage.incoming_files()]
    for job_dir in _job_dirs():
        leftovers += [f"{job_dir}/{name}" for name in store.listdir(job_dir)[1] if name.endswith(".partial")]
    assert leftovers == [], f"partial files left: {leftovers}"


def _exists_dir() -> bool:
    try:
        storage.get_storage().listdir(_jobs_root())
        return True
    except (FileNotFoundError, OSError):
        return False


def _jobs_root() -> str:
    return storage.asset_key("x", "video").rsplit("/x/", 1)[0]


def _job_dirs() -> list[str]:
    if not _exists_dir():
        return []
    dirs, _ = storage.get_storage().listdir(_jobs_root())
    return [f"{_jobs_root()}/{d}" for d in dirs]


def wait_for_fingerprints(jobs, timeout: float = 30.0) -> None:
    """Real workers record a SHA-256 just after storing (DOWNLOAD_SHA256 'deferred'): wait for it."""
    from videos.models import VideoAsset

    ids = [j.pk for j in jobs]
    deadline = time.monotonic() + timeout
    while VideoAsset.objects.filter(job__in=ids, sha256="").exists():
        assert time.monotonic() < deadline, f"assets still without a SHA-256 after {timeout} s"
        time.sleep(0.1)


def assert_assets_match_emulator(job: VideoJob, emu) -> None:
    """Every stored asset is whole: its sha256 is what the emulator served (or it was derived)."""
    wait_for_fingerprints([job])
    served = {j["id"]: j for j in emu.jobs()}[job.remote_id]
    files = served["emulator"]["assets"]
    for asset in job.assets.all():
        with asset.file.open("rb") as fh:
            digest = hashlib.sha256(fh.read()).hexdigest()
        assert digest == asset.sha256
        if not asset.derived and asset.variant in files:
            assert files[asset.variant]["sha256"] == asset.sha256, asset.variant


def probe_video(job: VideoJob) -> media.VideoInfo:
    with asset_file(job.assets.get(variant="video")) as path:
        return media.probe(path)
