"""Export with provenance: a ZIP of the files and a provenance.json with their SHA-256 and the
whole request, which ``manage.py sora generate --from`` makes again (a new, confirmed job)."""
from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from PIL import Image

from videos import sequences, services
from videos.models import JobStatus, VideoJob

from ..support import settle

pytestmark = pytest.mark.django_db(transaction=True)


def _zip(response) -> zipfile.ZipFile:
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith("attachment;")
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


@pytest.fixture
def signed_in(client, viewer):
    client.force_login(viewer)
    return client


@pytest.fixture
def with_reference(real_job, clone_jobs):
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 60, 20)).save(out, "PNG")
    ref = services.save_reference_image(out.getvalue(), user=real_job.owner)
    [job] = clone_jobs(real_job, 1, reference_image_id=ref.pk, reference_fit="letterbox",
                       prompt_text="A red square, slowly zooming")
    return job


def test_a_video_exports_its_files_and_provenance(signed_in, with_reference):
    job = with_reference
    archive = _zip(signed_in.get(reverse("videos:export", args=[job.uuid])))
    names = set(archive.namelist())
    assert {"video.mp4", "thumbnail.webp", "spritesheet.jpg", "reference.png", "provenance.json"} <= names
    data = json.loads(archive.read("provenance.json"))
    assert data["format"] == "sora-videos/provenance@1" and data["video"]["uuid"] == str(job.uuid)
    request = data["request"]
    assert (request["prompt"], request["model"], request["size"], request["seconds"]) == (
        "A red square, slowly zooming", job.model, job.size, job.seconds)
    assert request["extra_params"] == {} and request["reference_fit"] == "letterbox"
    assert request["reference_image"]["sha256"] == job.reference_image.sha256
    assert data["cost"]["estimated"] == str(job.estimated_cost) and data["timestamps"]["stored"]
    for entry in data["files"]:
        assert hashlib.sha256(archive.read(entry["name"])).hexdigest() == entry["sha256"], entry["name"]
    detail = signed_in.get(reverse("videos:detail", args=[job.uuid])).content.decode()
    assert reverse("videos:export", args=[job.uuid]) in detail


def test_only_stored_videos_export(signed_in, real_job, clone_jobs):
    [working] = clone_jobs(real_job, 1, status=JobStatus.IN_PROGRESS)
    assert signed_in.get(reverse("videos:export", args=[working.uuid])).status_code == 404
    signed_in.logout()
    assert signed_in.get(reverse("videos:export", args=[real_job.uuid])).status_code == 302


def test_generate_from_provenance_makes_the_same_request_again(signed_in, with_reference, tmp_path, capsys):
    job = with_reference
    _zip(signed_in.get(reverse("videos:export", args=[job.uuid]))).extractall(tmp_path)
    source = tmp_path / "provenance.json"
    with pytest.raises(CommandError, match="Add --yes to confirm the spend"):
        call_command("sora", "generate", "--from", str(source))
    before = VideoJob.objects.count()
    call_command("sora", "generate", "--from", str(source), "--yes", "--provider", job.provider)
    again = VideoJob.objects.order_by("-pk").first()
    assert VideoJob.objects.count() == before + 1 and again.pk != job.pk
    assert again.status == JobStatus.PENDING
    assert (again.prompt_text, again.model, again.size, again.seconds, again.extra_params, again.reference_fit) == (
        job.prompt_text, job.model, job.size, job.seconds, {}, "letterbox")
    assert again.reference_image.sha256 == job.reference_image.sha256
    (tmp_path / "reference.png").write_bytes(b"another image")
    with pytest.raises(CommandError, match="its SHA-256 differs"):
        call_command("sora", "generate", "--from", str(source), "--yes")


def test_a_sequence_exports_the_stitch_and_each_shot(signed_in, real_job):
    shots = sequences.plan_shots(["A boat drifts", "The boat turns"], [])
    sequence = sequences.create_sequence(shots, provider=real_job.provider, size="1280x720", seconds=4,
                                         user=real_job.owner)
    settle([s.job for s in sequence.shots.all()])
    sequence.refresh_from_db()
    archive = _zip(signed_in.get(reverse("videos:sequence_export", args=[sequence.uuid])))
    names = archive.namelist()
    assert any(n.startswith("01-") and n.endswith("provenance.json") for n in names)
    assert any(n.startswith("02-") and n.endswith("video.mp4") for n in names)
