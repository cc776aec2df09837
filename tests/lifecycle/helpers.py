"""Assertions shared by the lifecycle tests."""
from __future__ import annotations

import hashlib
from pathlib import Path

from django.conf import settings

from videos import media
from videos.models import VideoJob


def assert_no_partial_files() -> None:
    """Nothing half-written is visible: no staging files, no leftover downloads."""
    root = Path(settings.MEDIA_ROOT)
    if not root.exists():
        return
    partial = [p for p in root.rglob("*") if p.is_file() and (p.name.endswith(".partial") or ".incoming" in p.parts)]
    assert partial == [], f"partial files left: {partial}"


def assert_assets_match_emulator(job: VideoJob, emu) -> None:
    """Every stored asset is whole: its sha256 is what the emulator served (or it was derived)."""
    served = {j["id"]: j for j in emu.jobs()}[job.remote_id]
    files = served["emulator"]["assets"]
    for asset in job.assets.all():
        with asset.file.open("rb") as fh:
            digest = hashlib.sha256(fh.read()).hexdigest()
        assert digest == asset.sha256
        if not asset.derived and asset.variant in files:
            assert files[asset.variant]["sha256"] == asset.sha256, asset.variant


def probe_video(job: VideoJob) -> media.VideoInfo:
    asset = job.assets.get(variant="video")
    return media.probe(asset.file.path)
