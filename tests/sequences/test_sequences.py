"""Multi-shot sequences: one job per shot, stitched when the last is stored; fix one shot, keep the rest."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.db.models import F
from django.utils import timezone
from django_q.brokers import get_broker

from tests.cli.helpers import make_image, no_api_calls, sora
from tests.support import asset_file, drain, settle
from videos import media, pipeline, sequences, stitching
from videos.exceptions import InvalidRequest, JobStateError
from videos.models import JobStatus, Sequence, SequenceAsset, SequenceStatus, VideoJob
from videos.providers import get_provider

pytestmark = pytest.mark.django_db(transaction=True)


def _images(tmp_path, count=3):
    colours = [(220, 40, 40), (40, 200, 60), (40, 60, 220), (200, 200, 40)]
    for n in range(count):
        make_image(tmp_path / "shots" / f"{n + 1:02d}.png", colours[n])
    return f"{tmp_path}/shots/*.png"


def _stitched(sequence: Sequence) -> media.VideoInfo:
    with asset_file(sequence.assets.get(variant="video")) as path:
        return media.probe(path)


def test_three_shots_through_the_queue_stitch_to_the_summed_duration(site, tmp_path):
    result = sora("generate", "Slow dolly forward through the room", "-i", _images(tmp_path),
                  "--size", "1280x720", "--seconds", "4", "--title", "House tour")
    assert result.code == 0, result.err
    sequence = Sequence.objects.get()
    assert result.out.strip() == str(sequence.pk)
    jobs = ", ".join(str(pk) for pk in sequence.shots.order_by("position").values_list("job_id", flat=True))
    assert f"Sequence {sequence.pk}: 3 shots (sora-2, 1280x720; jobs {jobs}), estimated 1.20 USD in all." in result.err
    assert (sequence.status, sequence.title, sequence.size) == (SequenceStatus.RENDERING, "House tour", "1280x720")
    shots = list(sequence.shots.order_by("position"))
    assert [s.reference_image.original_name for s in shots] == ["01.png", "02.png", "03.png"]
    assert no_api_calls(site)

    jobs = settle([s.job for s in shots])  # the queue: submit, track, download, then the stitch task
    assert all(j.status == JobStatus.COMPLETED for j in jobs)
    sequence.refresh_from_db()
    assert sequence.status == SequenceStatus.COMPLETED and sequence.is_current
    summed = sum(s.job.assets.get(variant="video").duration for s in shots)
    info = _stitched(sequence)
    assert summed == pytest.approx(12, abs=0.3)
    assert info.duration == pytest.approx(summed, abs=0.1)
    assert (info.width, info.height) == (1280, 720)
    assert sequence.duration == pytest.approx(summed, abs=0.1)
    assets = {a.variant: a for a in sequence.assets.all()}
    assert set(assets) == {"video", "thumbnail", "spritesheet"}
    assert assets["video"].file.name == f"sora/sequences/{sequence.uuid}/r{sequence.revision}/video.mp4"
    with asset_file(assets["thumbnail"]) as thumbnail, asset_file(assets["spritesheet"]) as spritesheet:
        assert media.sniff(thumbnail) == "webp"
        assert media.sniff(spritesheet) == "jpeg"

    status = sora("sequence", "status", sequence.pk)
    assert status.code == 0
    assert f"Sequence {sequence.pk} 'House tour': completed, stitched 12.0 s" in status.out
    assert status.out.count("completed  100%") == 3 and "01.png" in status.out
    listing = sora("sequence", "list")
    assert "completed  3/3" in listing.out and "House tour" in listing.out
    saved = sora("sequence", "download", sequence.uuid, "-o", tmp_path / "tour.mp4")
    assert saved.code == 0, saved.err
    assert media.probe(tmp_path / "tour.mp4").duration == pytest.approx(summed, abs=0.1)


def test_generate_wait_drives_the_shots_and_the_stitch_without_a_cluster(site, tmp_path):
    result = sora("generate", "Wide shot of the bay || Close-up of a gull || The gull takes off",
                  "--size", "1280x720", "--seconds", "4", "--wait", "-o", tmp_path / "bay.mp4")
    assert result.code == 0, result.err
    assert result.out.strip() == str(tmp_path / "bay.mp4")
    sequence = Sequence.objects.get()
    assert [s.prompt_text for s in sequence.shots.order_by("position")] == [
        "Wide shot of the bay", "Close-up of a gull", "The gull takes off"]
    assert media.probe(tmp_path / "bay.mp4").duration == pytest.approx(12, abs=0.3)
    assert "3/3 shots" in result.err  # the progress bar


def test_a_failed_shot_is_retried_alone(site, tmp_path):
    site.set_faults([{"endpoint": "create", "fault": "fail_job", "match": {"prompt": "Shot two"},
                      "message": "The render crashed", "times": 1}])
    sequence = sequences.create_sequence(
        sequences.plan_shots(["Shot one", "Shot two", "Shot three"], []), size="1280x720", seconds=4)
    settle()
    sequence.refresh_from_db()
    assert sequence.status == SequenceStatus.NEEDS_ATTENTION
    assert "shot 2 (job" in sequence.error_message and "The render crashed" in sequence.error_message
    assert not sequence.assets.exists()
    before = {s.position: s.job_id for s in sequence.shots.all()}

    status = sora("sequence", "status", sequence.pk)
    assert "a shot needs attention" in status.out
    assert "shot 2: The provider failed this video" in status.out
    assert f"manage.py sora sequence retry {sequence.pk} --shot N" in status.out

    refused = sora("sequence", "retry", sequence.pk, "--shot", "1")
    assert refused.code == 2 and "Shot 1 is already completed" in refused.err
    missing = sora("sequence", "retry", sequence.pk, "--shot", "7")
    assert missing.code == 2 and "has no shot 7; its shots are 1 to 3" in missing.err

    result = sora("sequence", "retry", sequence.pk, "--shot", "2", "--wait", "-o", tmp_path / "fixed.mp4")
    assert result.code == 0, result.err
    after = {s.position: s.job_id for s in sequence.shots.all()}
    assert after[1] == before[1] and after[3] == before[3] and after[2] != before[2]
    shot2 = sequence.shots.get(position=2)
    assert shot2.attempts == 2 and shot2.job.status == JobStatus.COMPLETED
    assert VideoJob.objects.get(pk=before[2]).status == JobStatus.FAILED  # the failed attempt stays on record
    assert site.stats()["jobs_created"] == 4  # three shots, one retry: nothing else re-rendered
    sequence.refresh_from_db()
    assert sequence.is_current and sequence.revision == 1
    assert media.probe(tmp_path / "fixed.mp4").duration == pytest.approx(12, abs=0.3)


def test_a_blocked_shot_is_replaced_with_a_new_prompt_and_length(site, tmp_path):
    result = sora("generate", "A quiet street || Pikachu dancing in the street || The street at night",
                  "--size", "1280x720", "--seconds", "4", "--wait", "-o", tmp_path / "street.mp4")
    assert result.code == 1
    sequence = Sequence.objects.get()
    shot2 = sequence.shots.get(position=2)
    assert (f"Sequence {sequence.pk} is not stitched (a shot needs attention): shot 2 (job {shot2.job_id}) is "
            "failed: The provider failed this video (moderation_blocked)") in result.err
    assert f"manage.py sora sequence retry {sequence.pk} --shot N" in result.err
    assert not (tmp_path / "street.mp4").exists()
    sequence.refresh_from_db()
    assert sequence.status == SequenceStatus.NEEDS_ATTENTION

    result = sora("sequence", "replace", sequence.pk, "--shot", "2", "--prompt", "A street dancer in a red coat",
                  "--seconds", "8")
    assert result.code == 0, result.err
    shot = sequence.shots.get(position=2)
    assert (shot.prompt_text, shot.seconds, shot.attempts) == ("A street dancer in a red coat", 8, 2)
    assert result.out.strip() == str(shot.job_id)
    settle()
    sequence.refresh_from_db()
    assert sequence.is_current
    assert _stitched(sequence).duration == pytest.approx(16, abs=0.3)  # 4 + 8 + 4

    nothing = sora("sequence", "replace", sequence.pk, "--shot", "1")
    assert nothing.code == 2 and "Say what to replace" in nothing.err


def test_stitch_claims_race_idempotency_and_superseded_stitches(site):
    sequence = sequences.create_sequence(sequences.plan_shots(["One", "Two"], []), size="1280x720", seconds=4)
    settle()
    sequence.refresh_from_db()
    assert sequence.is_current
    stamps = dict(SequenceAsset.objects.values_list("variant", "updated_at"))
    stitched_at = sequence.stitched_at

    # idempotent: a duplicate task (e.g. queued by a second job_stored) changes nothing
    stitching.stitch(sequence.pk)
    drain()
    sequence.refresh_from_db()
    assert sequence.stitched_at == stitched_at
    assert dict(SequenceAsset.objects.values_list("variant", "updated_at")) == stamps

    # on purpose, again
    result = sora("sequence", "stitch", sequence.pk, "--force")
    assert result.code == 0 and "stitched: 8.0 s, 2 shots" in result.out
    sequence.refresh_from_db()
    assert sequence.stitched_at > stitched_at and SequenceAsset.objects.count() == 3

    # two workers race for the claim: one wins
    Sequence.objects.filter(pk=sequence.pk).update(status=SequenceStatus.RENDERING)  # as if not stitched yet
    sequence.refresh_from_db()
    barrier, tokens = threading.Barrier(2), []

    def worker():
        try:
            barrier.wait()
            tokens.append(stitching.claim_stitch(sequence))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(t is None for t in tokens) == [False, True]
    sequence.refresh_from_db()
    assert sequence.status == SequenceStatus.STITCHING

    # a live claim makes another stitch() step back; a stale one is taken over
    assert stitching.stitch(sequence.pk).status == SequenceStatus.STITCHING
    Sequence.objects.filter(pk=sequence.pk).update(stitch_started_at=timezone.now() - dt.timedelta(hours=1))
    assert stitching.stitch(sequence.pk).is_current

    # a shot changed while a stitch runs: that stitch can no longer be recorded
    Sequence.objects.filter(pk=sequence.pk).update(status=SequenceStatus.RENDERING)
    sequence.refresh_from_db()
    token = stitching.claim_stitch(sequence)
    assert token
    sequences.retry_shot(sequence, 1, force=True)
    sequence.refresh_from_db()
    assert (sequence.status, sequence.revision, sequence.stitch_token) == (SequenceStatus.RENDERING, 1, "")
    assert not Sequence.objects.filter(stitch_token=token).exists()
    assert stitching.claim_stitch(sequence) is None  # the new shot is not done: nothing to stitch yet
    settle()
    sequence.refresh_from_db()
    assert sequence.is_current and sequence.stitched_revision == 1
    # each revision has its own keys: the new stitch replaced the old files, never overwrote them in place
    from videos import storage as store

    names = set(sequence.assets.values_list("file", flat=True))
    assert all("/r1/" in name for name in names)
    assert all(store.get_storage().exists(name) for name in names)
    assert not store.get_storage().exists(store.sequence_key(sequence.uuid, "video", 0))


def test_validation_happens_before_anything_is_written(site, tmp_path):
    with pytest.raises(InvalidRequest, match="2 shot prompts for 3 images"):
        sequences.plan_shots(["a", "b"], ["1.png", "2.png", "3.png"])
    with pytest.raises(InvalidRequest, match="Shot 2: sora-2 does not offer 5 seconds"):
        sequences.create_sequence([sequences.ShotSpec("a", seconds=4), sequences.ShotSpec("b", seconds=5)])
    assert not Sequence.objects.exists() and not VideoJob.objects.exists() and no_api_calls(site)
    sequence = sequences.create_sequence(sequences.plan_shots(["a", "b"], []), seconds=4)
    with pytest.raises(JobStateError, match="Shot 1 is still pending"):
        sequences.retry_shot(sequence, 1)


def test_a_stitch_whose_task_was_lost_is_queued_by_the_sweep(site):
    """The broker was down when the last shot was stored (or the task was lost): the sweep
    queues the stitch once the shots have been stored for a while, and only then."""
    sequence = sequences.create_sequence(sequences.plan_shots(["One", "Two"], []), size="1280x720", seconds=4)
    jobs = [shot.job for shot in sequences.shots_of(sequence)]
    settle(jobs)  # drains and sweeps until the shots are stored...
    get_broker().purge_queue()  # ...but suppose the stitch task it queued is gone
    Sequence.objects.filter(pk=sequence.pk).update(status=SequenceStatus.RENDERING, stitched_revision=None)
    provider = get_provider(sequence.provider)
    assert stitching.requeue_lost(provider.name) == 0  # just stored: its own task may be on its way
    VideoJob.objects.filter(pk__in=[j.pk for j in jobs]).update(stored_at=F("stored_at") - dt.timedelta(seconds=31))
    pipeline.sweep_once(provider)
    drain()
    sequence.refresh_from_db()
    assert sequence.is_current and sequence.status == SequenceStatus.COMPLETED
    assert stitching.requeue_lost(provider.name) == 0  # nothing lost any more
