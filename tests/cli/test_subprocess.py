"""Every subcommand as a real ``python manage.py sora ...`` process on the test database.

The processes are independent of each other, so they run at the same time (Django's
start-up dominates each one). ``generate --wait`` and ``sync`` have subprocess tests of
their own in test_generate.py and test_sync.py; extend, edit and ``sequence replace``
share their code path with remix and ``sequence retry`` (covered through call_command).
"""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support import settle
from videos import media, sequences, services
from videos.models import JobKind, JobStatus, Sequence, SequenceStatus, VideoJob

from .helpers import sora_process

pytestmark = pytest.mark.django_db(transaction=True)


def test_every_subcommand_as_a_subprocess(site, tmp_path):
    # state to work on, made in-process through the services
    kept, source, doomed = (services.create_video(p, size="1280x720", seconds=4) for p in ("Kept", "Source", "Doomed"))
    site.set_faults([{"endpoint": "create", "fault": "fail_job", "match": {"prompt": "Broken shot"}, "times": 1}])
    done = sequences.create_sequence(sequences.plan_shots(["First shot", "Second shot"], []), size="1280x720",
                                     seconds=4, title="Done")
    broken = sequences.create_sequence(sequences.plan_shots(["Broken shot", "Fine shot"], []), size="1280x720",
                                       seconds=4, title="Broken")
    settle()
    assert Sequence.objects.get(pk=broken.pk).status == SequenceStatus.NEEDS_ATTENTION
    batch_file = tmp_path / "batch.csv"
    batch_file.write_text("prompt,size,seconds\nFrom a batch,1280x720,4\nToo wide,1920x1080,4\n")
    for job in (kept, source, doomed):
        job.refresh_from_db()
        assert job.status == JobStatus.COMPLETED, job.error_message

    commands = {
        "list-models": (["list-models"], {"emulator_mode": True}),
        "status": (["status", kept.remote_id, "--json"], {}),
        "download": (["download", kept.uuid, "--variant", "thumbnail", "-o", tmp_path / "thumb.webp"], {}),
        "remix": (["remix", source.pk, "Make it night"], {}),
        "delete": (["delete", doomed.pk, "--noinput"], {}),
        "batch": (["batch", batch_file], {}),
        "invalid generate": (["generate", "Too wide", "--size", "1920x1080"], {}),
        "sequence status": (["sequence", "status", done.pk], {}),
        "sequence retry": (["sequence", "retry", broken.pk, "--shot", "1"], {}),
        "sequence download": (["sequence", "download", done.pk, "-o", tmp_path / "done.mp4"], {}),
    }
    with ThreadPoolExecutor(max_workers=len(commands)) as pool:
        futures = {name: pool.submit(sora_process, site, *args, **kw) for name, (args, kw) in commands.items()}
        r = {name: future.result() for name, future in futures.items()}

    assert r["list-models"].code == 0 and "LOCAL EMULATOR" in r["list-models"].out
    assert "sora-2 *" in r["list-models"].out

    assert r["status"].code == 0, r["status"].err
    [status] = json.loads(r["status"].out)
    assert (status["id"], status["status"], status["remote_id"]) == (kept.pk, "completed", kept.remote_id)

    assert r["download"].code == 0, r["download"].err
    assert media.sniff(tmp_path / "thumb.webp") == "webp"

    assert r["remix"].code == 0, r["remix"].err
    remix = VideoJob.objects.get(pk=int(r["remix"].out))
    assert (remix.kind, remix.parent_id, remix.status) == (JobKind.REMIX, source.pk, JobStatus.PENDING)

    assert r["delete"].code == 0, r["delete"].err
    assert VideoJob.objects.get(pk=doomed.pk).status == JobStatus.DELETED

    assert r["batch"].code == 1
    assert "line 3: invalid:" in r["batch"].err and "does not offer size 1920x1080" in r["batch"].err
    assert VideoJob.objects.filter(prompt_text="From a batch").count() == 1

    assert r["invalid generate"].code == 2
    assert "it offers 720x1280, 1280x720" in r["invalid generate"].err
    assert not VideoJob.objects.filter(prompt_text="Too wide").exists()

    assert r["sequence status"].code == 0 and "'Done': completed, stitched 8.0 s" in r["sequence status"].out
    assert r["sequence retry"].code == 0, r["sequence retry"].err
    assert Sequence.objects.get(pk=broken.pk).shots.get(position=1).attempts == 2
    assert r["sequence download"].code == 0, r["sequence download"].err
    assert media.probe(tmp_path / "done.mp4").duration == pytest.approx(8, abs=0.3)

    for result in r.values():
        assert "Traceback" not in result.err and "sk-emulator" not in result.out + result.err
