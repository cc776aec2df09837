"""``manage.py sora sync``: import a provider's existing videos, idempotently."""
from __future__ import annotations

import pytest

from tests.support import asset_file, settle
from videos import media, services
from videos.models import JobKind, JobStatus, VideoJob, VideoJobEvent

from .helpers import sora, sora_process

pytestmark = pytest.mark.django_db(transaction=True)


def _library(emu):
    """Videos made at the provider by someone else (another tool, the dashboard)."""
    client = emu.client()
    made = {}
    made["plain"] = client.videos.create(prompt="A harbour at dawn", model="sora-2", size="1280x720", seconds="4").id
    emu.complete(made["plain"])
    made["remix"] = client.videos.remix(made["plain"], prompt="The harbour at night").id
    emu.complete(made["remix"])
    made["expired"] = client.videos.create(prompt="Old footage", model="sora-2", size="720x1280", seconds="4").id
    emu.complete(made["expired"])
    emu.expire(made["expired"])
    emu.set_faults([{"endpoint": "create", "fault": "fail_job", "message": "The render crashed"}])
    made["failed"] = client.videos.create(prompt="A broken one", model="sora-2", size="1280x720", seconds="4").id
    emu.clear_faults()
    emu.complete(made["failed"])
    return made


@pytest.mark.slow  # a subprocess talks HTTP to the emulator
def test_sync_imports_the_library_and_a_second_run_changes_nothing(site):
    ours = services.create_video("Made here", seconds=4)
    [ours] = settle([ours])
    made = _library(site)

    first = sora("sync")
    assert first.code == 0, first.err
    assert "default: 5 video(s) listed; imported 4, updated 0, unchanged 1, skipped 0." in first.out
    jobs = {j.remote_id: j for j in VideoJob.objects.all()}
    assert len(jobs) == 5

    plain = jobs[made["plain"]]
    assert (plain.status, plain.kind, plain.prompt_text, plain.size, plain.seconds) == (
        JobStatus.COMPLETED, JobKind.CREATE, "A harbour at dawn", "1280x720", 4)
    assert {a.variant for a in plain.assets.all()} == {"video", "thumbnail", "spritesheet"}
    with asset_file(plain.assets.get(variant="video")) as path:
        assert media.probe(path).duration == pytest.approx(4, abs=0.3)
    assert str(plain.estimated_cost) == "0.4000"

    remix = jobs[made["remix"]]
    assert (remix.kind, remix.parent_id, remix.status) == (JobKind.REMIX, plain.pk, JobStatus.COMPLETED)

    expired = jobs[made["expired"]]
    assert expired.status == JobStatus.FAILED and not expired.assets.exists()
    assert "it expired before it could be stored." in expired.error_message  # what happened; advice is added per surface
    failed = jobs[made["failed"]]
    assert failed.status == JobStatus.FAILED and "The render crashed" in failed.error_message
    assert f"imported  {made['plain']} -> job {plain.pk}: completed" in first.out

    # twice: nothing changes, nothing is downloaded again
    events, content = VideoJobEvent.objects.count(), site.stats()["requests"]["content"]
    second = sora("sync")
    assert second.code == 0, second.err
    assert "imported 0, updated 0, unchanged 5, skipped 0." in second.out
    assert VideoJob.objects.count() == 5 and VideoJobEvent.objects.count() == events
    assert site.stats()["requests"]["content"] == content

    # and from another process, on the same database
    third = sora_process(site, "sync")
    assert third.code == 0, third.err
    assert "imported 0, updated 0, unchanged 5, skipped 0." in third.out
    assert VideoJob.objects.count() == 5


def test_sync_without_downloads_leaves_them_to_the_queue(site):
    video = site.client().videos.create(prompt="A meadow", model="sora-2", size="1280x720", seconds="4").id
    site.complete(video)
    result = sora("sync", "--no-download")
    assert result.code == 0, result.err
    job = VideoJob.objects.get(remote_id=video)
    assert job.status == JobStatus.DOWNLOADING
    [job] = settle([job])
    assert job.status == JobStatus.COMPLETED and job.assets.count() == 3


def test_sync_reports_an_unreachable_provider(settings, site):
    import copy

    config = copy.deepcopy(settings.SORA_VIDEOS)
    config["PROVIDERS"]["default"]["BASE_URL"] = "http://127.0.0.1:9/v1"  # nothing listens there
    settings.SORA_VIDEOS = config
    result = sora("sync")
    assert result.code == 1
    assert "The provider answered with an error" in result.err and "reachable" in result.err


def test_remixes_are_imported_after_their_parents_whatever_the_timestamps():
    from videos.cli.library import parents_first
    from videos.providers import RemoteVideo

    def video(vid, created, parent=None):
        return RemoteVideo.from_payload({"id": vid, "status": "completed", "created_at": created,
                                         "remixed_from_video_id": parent})

    # same second, ids in the "wrong" order, a remix of a remix listed as older than its parent
    listed = [video("video_c", 99, "video_a"), video("video_a", 100, "video_b"), video("video_b", 100),
              video("video_z", 50, "video_gone")]
    assert [v.id for v in parents_first(listed)] == ["video_z", "video_b", "video_a", "video_c"]
