"""list-models, status, download, remix, extend, delete through call_command."""
from __future__ import annotations

import json

import pytest

from tests.factories import VideoJobFactory
from tests.support import settle
from videos import media, services
from videos.models import JobError, JobKind, JobStatus, VideoJob

from .helpers import no_api_calls, sora

pytestmark = pytest.mark.django_db(transaction=True)


def _completed(*prompts: str, **kwargs) -> list[VideoJob]:
    jobs = [services.create_video(p, size="1280x720", seconds=4, **kwargs) for p in prompts]
    done = settle(jobs)
    assert all(j.status == JobStatus.COMPLETED for j in done), [(j.pk, j.error_message) for j in done]
    return done


def test_list_models_shows_models_sizes_seconds_prices_and_defaults(site):
    result = sora("list-models")
    assert result.code == 0, result.err
    out = result.out
    assert "default (LOCAL EMULATOR (test videos, nothing billed); dialect openai;" in out
    assert "default provider" in out and "features: remix, edit, extend" in out
    assert "sora-2 *" in out and "sora-2-pro" in out and "* default model" in out
    assert "720x1280" in out and "1792x1024" in out and "4, 8, 12" in out
    assert "0.10 USD/s" in out and "0.50 USD/s" in out
    assert no_api_calls(site)

    data = json.loads(sora("list-models", "--json").out)
    [provider] = data
    assert provider["emulator"] is True and provider["default_model"] == "sora-2"
    pro = {m["name"]: m for m in provider["models"]}["sora-2-pro"]
    assert pro["price_per_second"]["1792x1024"] == "0.50"

    assert sora("list-models", "--provider", "nope").code == 2


def test_list_models_of_a_diffusion_server(settings, emulators, tmp_path):
    from .helpers import site_settings

    emu = emulators.get(dialect="sglang")
    settings.SORA_VIDEOS = site_settings(emu)
    out = sora("list-models").out
    assert "dialect sglang" in out and "features: create only" in out
    assert "seed, negative_prompt" in out and "free" in out


def test_status_by_id_uuid_and_remote_id(site):
    [job] = _completed("A red kite over a park")
    pending = services.create_video("A blue kite", seconds=4)
    for key in (job.pk, job.uuid, job.remote_id):
        result = sora("status", key)
        assert result.code == 0, result.err
        assert f"{job.pk}  " in result.out and "completed" in result.out and job.remote_id in result.out
    listing = sora("status")  # no ids: the latest jobs
    assert str(pending.pk) in listing.out and "pending" in listing.out

    data = json.loads(sora("status", job.pk, pending.pk, "--json").out)
    assert [d["id"] for d in data] == [job.pk, pending.pk]
    assert data[0]["status"] == "completed" and set(data[0]["assets"]) == {"video", "thumbnail", "spritesheet"}
    assert data[0]["estimated_cost"] == "0.4000"

    unknown = sora("status", "video_nope")
    assert unknown.code == 2 and "No job has the id, uuid or remote id 'video_nope'" in unknown.err


def test_status_shows_why_a_job_failed(site):
    site.set_faults([{"endpoint": "create", "fault": "fail_job", "error_code": "internal_error",
                      "message": "The render crashed"}])
    job = services.create_video("A fox in the snow", seconds=4)
    [job] = settle([job])
    assert job.status == JobStatus.FAILED
    result = sora("status", job.pk)
    assert "failed" in result.out and f"job {job.pk}: The provider failed this video" in result.out
    download = sora("download", job.pk)
    assert download.code == 1
    assert f"Job {job.pk} failed: The provider failed this video (internal_error): The render crashed" in download.err


def test_download_each_variant(site, tmp_path):
    [job] = _completed("A lighthouse at dusk")
    for variant, fmt in (("video", "mp4"), ("thumbnail", "webp"), ("spritesheet", "jpeg")):
        result = sora("download", job.remote_id, "--variant", variant, "-o", tmp_path)
        assert result.code == 0, result.err
        path = result.out.strip()
        assert media.sniff(path) == fmt
        assert path.startswith(str(tmp_path / str(job.uuid)))
    assert media.probe(tmp_path / f"{job.uuid}.mp4").duration == pytest.approx(4, abs=0.3)


def test_download_of_an_unfinished_job_says_what_to_do_and_wait_works(site, tmp_path):
    job = services.create_video("A slow tide", seconds=4)
    result = sora("download", job.pk)
    assert result.code == 1
    assert f"Job {job.pk} is pending (0%); nothing is stored yet" in result.err
    assert f"manage.py sora download {job.pk} --wait" in result.err
    result = sora("download", job.pk, "--wait", "-o", tmp_path / "tide.mp4")
    assert result.code == 0, result.err
    assert (tmp_path / "tide.mp4").is_file()


def test_remix_and_extend_from_a_completed_job(site, tmp_path):
    [source] = _completed("A cat on a windowsill")
    result = sora("remix", source.pk, "Make the cat orange", "--wait", "-o", tmp_path / "remix.mp4")
    assert result.code == 0, result.err
    remix = VideoJob.objects.get(kind=JobKind.REMIX)
    assert (remix.parent_id, remix.status, remix.prompt_text) == (source.pk, JobStatus.COMPLETED, "Make the cat orange")
    assert site.job(remix.remote_id)["remixed_from_video_id"] == source.remote_id

    result = sora("extend", source.uuid, "The cat jumps down", "--seconds", "4")
    assert result.code == 0, result.err
    extension = VideoJob.objects.get(kind=JobKind.EXTEND)
    assert result.out.strip() == str(extension.pk)
    assert (extension.parent_id, extension.seconds, extension.status) == (source.pk, 4, JobStatus.PENDING)

    bad = sora("extend", source.pk, "More", "--seconds", "5")
    assert bad.code == 2 and "An extension can add 4, 8, 12, 16, 20 seconds, not 5" in bad.err
    not_done = sora("remix", extension.pk, "Again")
    assert not_done.code == 2 and "Only a completed video can be used to remix; this one is pending" in not_done.err


def test_remix_is_refused_where_the_server_has_no_remix(settings, emulators, tmp_path):
    from .helpers import site_settings

    emu = emulators.get(dialect="sglang")
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.SORA_VIDEOS = site_settings(emu)
    job = VideoJobFactory(provider="default", prompt_text="x", status=JobStatus.COMPLETED, remote_id="video_x")
    result = sora("remix", job.pk, "Change it")
    assert result.code == 2 and "default cannot remix videos (the sglang dialect's default" in result.err
    assert "Make a new video with the changed prompt instead" in result.err and no_api_calls(emu)
    assert no_api_calls(emu)


def test_delete_removes_remote_and_local_files(site):
    [job] = _completed("A paper boat")
    keys = [a.file.name for a in job.assets.all()]
    storage = job.assets.first().file.storage
    result = sora("delete", job.pk, "--noinput")
    assert result.code == 0, result.err
    assert f"Deleted job {job.pk} (remote {job.remote_id}) and its 3 stored file(s)." in result.out
    job.refresh_from_db()
    assert job.status == JobStatus.DELETED and not job.assets.exists()
    assert not any(storage.exists(key) for key in keys)
    assert site.job(job.remote_id)["emulator"]["deleted"] is True
    again = sora("delete", job.pk, "--noinput")
    assert again.code == 0 and "already deleted" in again.out


def test_resubmit_makes_a_forgotten_job_again(site):
    job = VideoJobFactory(provider="default", prompt_text="A kite", status=JobStatus.FAILED,
                          error_code=JobError.FORGOTTEN)
    result = sora("resubmit", job.pk)
    assert result.code == 0, result.err
    again = VideoJob.objects.exclude(pk=job.pk).get()
    assert result.out.strip() == str(again.pk) and again.status == JobStatus.PENDING
    pending = VideoJobFactory(provider="default", prompt_text="x", status=JobStatus.PENDING)
    refused = sora("resubmit", pending.pk)
    assert refused.code == 2 and "Only a failed, completed or stuck job can be re-submitted" in refused.err


def test_a_wait_on_a_provider_nobody_answers_for_says_so_at_once(site, settings):
    """An emulator that is not running (or a wrong URL) is named before the wait, not after its timeout."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the command runs: nobody listens there
    config = settings.SORA_VIDEOS["PROVIDERS"]["default"]
    settings.SORA_VIDEOS = {**settings.SORA_VIDEOS,
                            "PROVIDERS": {"default": {**config, "BASE_URL": f"http://127.0.0.1:{port}/v1"}}}
    result = sora("generate", "A kite over the sea", "--wait", "--timeout", "1", "--no-progress")
    assert result.code == 3
    assert f"Cannot reach Local emulator at http://127.0.0.1:{port}/v1" in result.err or \
        f"at http://127.0.0.1:{port}/v1 (Connection refused)" in result.err, result.err
    assert "Is the emulator running?" in result.err and "is sent once it answers" in result.err
    assert VideoJob.objects.count() == 1  # saved, waiting to be sent
