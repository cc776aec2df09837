"""What a server can do is learned from it, remembered with its evidence, and pinned by settings."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.cache import cache
from django.utils import timezone

from videos import capabilities, conf, services
from videos.exceptions import InvalidRequest
from videos.models import JobError, JobStatus, ProviderCapability, VideoJob
from videos.pipeline import sweep_once
from videos.providers import get_provider
from videos.providers.errors import endpoint_missing, server_reason

from ..cli.helpers import sora
from ..support import drain, settle, sora_settings

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(("body", "reason", "code"), [
    ({"message": "Invalid size", "type": "invalid_request_error", "code": "invalid_value"}, "Invalid size",
     "invalid_value"),  # OpenAI (the SDK hands over the inner error)
    ({"detail": "Method Not Allowed"}, "Method Not Allowed", None),  # FastAPI
    ({"detail": [{"loc": ["body", "seconds"], "msg": "Input should be a valid integer"}]},
     "seconds: Input should be a valid integer", "validation_error"),  # FastAPI validation
    ({"message": "Generation is still in-progress", "type": "Not Found", "code": 404},
     "Generation is still in-progress", "404"),  # vLLM: an integer code
    ("Unauthorized", "Unauthorized", None),  # vLLM's --api-key middleware ({"error": "Unauthorized"})
    ("404 page not found", "404 page not found", None),  # Gin, plain text
    ("<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>",
     "502 Bad Gateway nginx", None),  # a proxy's HTML page
])
def test_every_error_body_gives_the_servers_reason(body, reason, code):
    assert server_reason(body) == (reason, code)


def test_a_missing_endpoint_is_told_from_a_missing_video():
    assert endpoint_missing(405, "Method Not Allowed", None)
    assert endpoint_missing(404, "Not Found", None)  # Starlette's router
    assert endpoint_missing(404, "404 page not found", None)  # Gin
    assert not endpoint_missing(404, "Video not found", None)
    assert not endpoint_missing(404, "Video with id 'video_1' not found.", "video_not_found")


def _provider(settings, tmp_path, emu, **options):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.SORA_VIDEOS = sora_settings(emu, provider={"DIALECT": emu.dialect, **options})
    return conf.provider("emu")


def test_diffusion_servers_take_sizes_and_lengths_no_table_lists(emulators, settings, tmp_path):
    for dialect in ("vllm-omni", "sglang"):
        emu = emulators.get(dialect=dialect)
        _provider(settings, tmp_path, emu)
        jobs = [services.create_video("A kite over dunes", size="832x480", seconds=6),
                services.create_video("A kite over dunes", size="1000x562", seconds=3)]
        for job in settle(jobs):
            assert job.status == JobStatus.COMPLETED, (dialect, job.error_message)
        with pytest.raises(InvalidRequest, match="sides from 64 to 1920"):
            services.create_video("Too big", size="4000x2000")


def test_a_restarted_vllm_leaves_every_job_forgotten_within_one_sweep(emulators, settings, tmp_path):
    emu = emulators.get(dialect="vllm-omni", generation_time=30)
    _provider(settings, tmp_path, emu)
    jobs = [services.create_video(f"Shot {n}", size="832x480", seconds=2) for n in range(3)]
    drain()
    assert emu.stats()["jobs_created"] == 3
    assert emu.restart() == 3
    VideoJob.objects.update(next_check_at=None)  # the sweep after the restart that is due to look
    sweep_once(get_provider("emu"))
    for job in jobs:
        job.refresh_from_db()
        assert (job.status, job.error_code) == (JobStatus.FAILED, JobError.FORGOTTEN)
        assert "no longer knows this video: it restarted or cleaned up before we stored it" in job.error_message
    sweep_once(get_provider("emu"))
    drain()
    assert emu.stats()["jobs_created"] == 3  # never sent again by itself
    again = services.resubmit(jobs[0])
    assert again.status == JobStatus.PENDING


def test_a_completed_job_whose_file_is_gone_is_forgotten(emulators, settings, tmp_path):
    emu = emulators.get(dialect="vllm-omni", generation_time=30)
    _provider(settings, tmp_path, emu, CAPABILITIES={"list": False})
    job = services.create_video("A lantern", size="832x480", seconds=2)
    drain()
    job.refresh_from_db()
    emu.complete(job.remote_id)
    emu.expire(job.remote_id)  # a file TTL: the job still says completed, its content is 404
    [job] = settle([job])
    assert (job.status, job.error_code) == (JobStatus.FAILED, JobError.FORGOTTEN)


def test_settings_pins_win_over_what_was_learned(emulators, settings, tmp_path):
    emu = emulators.get(dialect="sglang")
    config = _provider(settings, tmp_path, emu, CAPABILITIES={"remix": True, "delete": False})
    capabilities.learn(config, "remix", False, "POST /videos/x/remix answered 404: Not Found")
    assert capabilities.get(config, "remix").source == capabilities.SETTINGS
    assert capabilities.supports(config, "remix") is True
    [job] = settle([services.create_video("A kite", size="832x480", seconds=4)])
    deleted = services.delete(job)
    assert "SORA_VIDEOS['PROVIDERS']['emu']['CAPABILITIES']" in deleted.remote_note
    assert emu.stats()["requests"]["delete"] == 0


def test_what_was_learned_is_trusted_for_a_while_then_tried_again(emulators, settings, tmp_path):
    emu = emulators.get(dialect="openai")
    config = _provider(settings, tmp_path, emu)
    capabilities.learn(config, "edit", False, "POST /videos/edits answered 405: Method Not Allowed")
    [parent] = settle([services.create_video("A kite")])
    assert parent.status == JobStatus.COMPLETED, parent.error_message
    with pytest.raises(InvalidRequest, match="learned .* 405: Method Not Allowed"):
        services.edit(parent, "Snow")
    assert emu.stats()["requests"]["edit"] == 0
    ProviderCapability.objects.filter(feature="edit").update(learned_at=timezone.now() - dt.timedelta(days=2))
    cache.clear()
    assert capabilities.get(config, "edit").source == capabilities.DIALECT  # a day old: tried again
    [child] = settle([services.edit(parent, "Snow")])
    assert child.status == JobStatus.COMPLETED


def test_providers_command_shows_every_answer_and_its_source(emulators, settings, tmp_path):
    emu = emulators.get(dialect="vllm-omni")
    config = _provider(settings, tmp_path, emu)
    capabilities.learn(config, "variants", False, "a thumbnail request was answered with video/mp4")
    result = sora("providers", "--json")
    assert result.code == 0, result.err
    [data] = json.loads(result.out)
    assert data["models_served"] == ["Wan-AI/Wan2.2-TI2V-5B-Diffusers"]  # from GET /v1/models
    assert data["capabilities"]["variants"]["source"] == "learned"
    assert data["capabilities"]["remix"] == {"supported": False, "source": "dialect", "learned_at": None,
                                             "evidence": ""}
    text = sora("providers", "--no-check").out
    assert "a thumbnail request was answered with video/mp4" in text and "WHO SAYS SO" in text
    assert emu.stats()["requests"]["models"] == 1


def test_a_video_with_sound_is_stored_with_its_audio_track(emulators, settings, tmp_path):
    import av

    from ..support import asset_file

    emu = emulators.get(dialect="vllm-omni")
    _provider(settings, tmp_path, emu)
    [job] = settle([services.create_video("Rain on a tin roof", size="832x480", seconds=2,
                                          extra_params={"generate_sound": True})])
    assert job.status == JobStatus.COMPLETED, job.error_message
    with asset_file(job.assets.get(variant="video")) as path, av.open(path) as container:
        assert [s.type for s in container.streams] == ["video", "audio"]


@pytest.mark.parametrize("dialect", ["tensorrt", "openrouter"])
def test_references_go_the_way_each_server_takes_them(dialect, emulators, settings, tmp_path):
    """TensorRT-LLM: an ``image_reference`` upload; OpenRouter: a data URL in ``frame_images`` (JSON)."""
    import io

    import av
    from PIL import Image, ImageChops, ImageStat

    from ..support import asset_file

    emu = emulators.get(dialect=dialect)
    config = _provider(settings, tmp_path, emu)
    size = config.model(None).sizes[0]
    width, height = (int(side) for side in size.split("x"))
    image = io.BytesIO()
    Image.new("RGB", (width, height), (20, 160, 90)).save(image, format="PNG")
    [job] = settle([services.create_video("The meadow at dawn", size=size, seconds=2 if dialect == "tensorrt" else 4,
                                          reference_image=image.getvalue())])
    assert job.status == JobStatus.COMPLETED, job.error_message
    with asset_file(job.assets.get(variant="video")) as path, av.open(path) as container:
        first = next(container.decode(video=0)).to_image().convert("RGB")
    difference = ImageStat.Stat(ImageChops.difference(first, Image.new("RGB", first.size, (20, 160, 90)))).mean
    assert sum(difference) / 3 < 20, difference  # the first frame is the reference
