"""``manage.py sora generate`` against the emulator, in-process and as a subprocess."""
from __future__ import annotations

import os

import pytest

from tests.support import settle
from videos import media
from videos.cli.inputs import expand_images
from videos.exceptions import InvalidRequest
from videos.models import JobStatus, ReferenceImage, Sequence, VideoJob

from .helpers import make_image, no_api_calls, sora, sora_process

pytestmark = pytest.mark.django_db(transaction=True)


def test_without_wait_prints_the_job_id_and_only_queues(site):
    result = sora("generate", "A red kite over a green park, slow pan", "--seconds", "4", "--size", "1280x720")
    assert result.code == 0, result.err
    job = VideoJob.objects.get()
    assert result.out.strip() == str(job.pk)
    assert "manage.py sora status" in result.err
    assert (job.status, job.size, job.seconds, job.provider) == (JobStatus.PENDING, "1280x720", 4, "default")
    assert no_api_calls(site)  # the queue submits it, not the command
    [job] = settle([job])
    assert job.status == JobStatus.COMPLETED


def test_wait_writes_the_mp4_and_shows_progress(site, tmp_path):
    target = tmp_path / "kite.mp4"
    result = sora("generate", "A red kite, slow pan", "--duration", "8", "-s", "720x1280", "--wait", "-o", target)
    assert result.code == 0, result.err
    assert result.out.strip() == str(target)
    assert "100%" in result.err and "completed" in result.err  # the tqdm bar went to stderr
    info = media.probe(target)
    assert (info.width, info.height, round(info.duration)) == (720, 1280, 8)
    job = VideoJob.objects.get()
    assert job.status == JobStatus.COMPLETED
    assert target.read_bytes() == job.assets.get(variant="video").file.open("rb").read()
    assert site.stats()["jobs_created"] == 1


def test_default_output_is_the_job_uuid_in_the_cwd(site, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = sora("generate", "A lighthouse at dusk", "--wait", "--no-progress")
    assert result.code == 0, result.err
    job = VideoJob.objects.get()
    assert (tmp_path / f"{job.uuid}.mp4").is_file()
    assert "%|" not in result.err  # --no-progress


@pytest.mark.parametrize(
    "args, message",
    [
        (["--size", "1920x1080"], "does not offer size 1920x1080; it offers 720x1280, 1280x720"),
        (["--width", "1920", "--height", "1080"], "does not offer size 1920x1080"),
        (["--width", "1920"], "Give both width and height"),
        (["--seconds", "5"], "does not offer 5 seconds; choose one of 4, 8, 12"),
        (["--model", "sora-3"], "has no model 'sora-3'; it offers: sora-2, sora-2-pro"),
        (["--provider", "nope"], "Unknown provider 'nope'"),
        (["--seed", "42"], "does not accept seed for sora-2; extra parameters it accepts: none"),
        (["--param", "loop=true"], "does not accept loop"),
        (["--param", "loop"], "is not KEY=VALUE"),
        (["-i", "missing/*.png"], "Image pattern 'missing/*.png' matches no file"),
        (["-i", "nothing.jpg"], "Image file 'nothing.jpg' does not exist"),
        (["-o", "no/such/folder/x.mp4"], "the folder 'no/such/folder' does not exist"),
        (["--user", "ghost"], "No user named 'ghost'"),
    ],
)
def test_invalid_input_exits_2_before_any_api_call(site, args, message):
    result = sora("generate", "A red kite", *args)
    assert result.code == 2, result
    assert message in result.err
    assert no_api_calls(site)
    assert not VideoJob.objects.exists()


def test_empty_prompt_is_refused(site):
    result = sora("generate", "   ")
    assert result.code == 2 and "The prompt is empty" in result.err
    result = sora("generate", "one shot || || three")
    assert result.code == 2 and "Shot prompt 2 is empty" in result.err
    assert not VideoJob.objects.exists() and no_api_calls(site)


def test_extra_parameters_pass_through_where_the_provider_accepts_them(settings, emulators, tmp_path):
    from .helpers import site_settings

    emu = emulators.get(dialect="vllm-omni")
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.SORA_VIDEOS = site_settings(emu)
    result = sora("generate", "Waves on a beach", "--seed", "42", "--negative-prompt", "blurry", "--fps", "8",
                  "--param", "guidance_scale=5.5", "--seconds", "4", "--size", "832x480")
    assert result.code == 0, result.err
    job = VideoJob.objects.get()
    assert job.extra_params == {"seed": 42, "negative_prompt": "blurry", "fps": 8, "guidance_scale": 5.5}
    [job] = settle([job])
    assert job.status == JobStatus.COMPLETED, job.error_message
    assert emu.job(job.remote_id)["emulator"]["seed"] == 42  # it reached the server

    # vLLM-Omni ignores fields it does not know, so nothing it would take is refused here ...
    passed = sora("generate", "Waves", "--param", "loop=true", "--seconds", "6", "--size", "1000x562")
    assert passed.code == 0, passed.err
    # ... while a model table narrowed in the settings refuses before any call, naming what it takes.
    narrowed = site_settings(emu)
    narrowed["PROVIDERS"]["default"]["MODELS"] = {
        "Wan-AI/Wan2.2-TI2V-5B-Diffusers": {"SIZES": ["832x480"], "SECONDS": ["4"], "EXTRA_PARAMS": ["seed", "fps"]}}
    settings.SORA_VIDEOS = narrowed
    before = emu.stats()["requests"]["create"]
    refused = sora("generate", "Waves", "--param", "loop=true", "--seconds", "4", "--size", "832x480")
    assert refused.code == 2
    assert "does not accept loop" in refused.err and "extra parameters it accepts: seed, fps" in refused.err
    assert emu.stats()["requests"]["create"] == before


def test_images_expand_comma_lists_and_sorted_globs_in_the_given_order(tmp_path):
    for name in ("b.png", "a.png", "c.jpg"):
        make_image(tmp_path / "refs" / name)
    hero = make_image(tmp_path / "hero.png")
    paths = expand_images([f"{hero},{tmp_path}/refs/*.png", f"{tmp_path}/refs/c.jpg"])
    assert [os.path.basename(p) for p in paths] == ["hero.png", "a.png", "b.png", "c.jpg"]
    with pytest.raises(InvalidRequest, match="matches no file"):
        expand_images([f"{tmp_path}/refs/*.webp"])
    with pytest.raises(InvalidRequest, match="is a folder"):
        expand_images([str(tmp_path / "refs")])


def test_one_image_makes_one_job_with_its_reference(site, tmp_path):
    image = make_image(tmp_path / "photo.jpg")
    result = sora("generate", "The subject waves", "-i", image, "--size", "1280x720")
    assert result.code == 0, result.err
    job = VideoJob.objects.get()
    assert job.reference_image.original_name == "photo.jpg"
    assert not Sequence.objects.exists()


def test_several_images_make_a_sequence_unless_single(site, tmp_path):
    for n in range(3):
        make_image(tmp_path / f"shot{n}.png", (60 * n, 90, 30))
    result = sora("generate", "Smooth camera move", "-i", f"{tmp_path}/shot*.png", "--single", "--size", "1280x720")
    assert result.code == 0, result.err
    assert "using" in result.err and "2 more image(s) left out" in result.err
    job = VideoJob.objects.get()
    assert job.reference_image.original_name == "shot0.png"
    assert not Sequence.objects.exists()

    result = sora("generate", "Smooth camera move", "-i", f"{tmp_path}/shot2.png,{tmp_path}/shot[01].png",
                  "--size", "1280x720", "--title", "Walkthrough")
    assert result.code == 0, result.err
    sequence = Sequence.objects.get()
    assert result.out.strip() == str(sequence.pk)
    assert sequence.title == "Walkthrough"
    shots = list(sequence.shots.order_by("position"))
    assert [s.reference_image.original_name for s in shots] == ["shot2.png", "shot0.png", "shot1.png"]
    assert [s.job.reference_image_id for s in shots] == [s.reference_image_id for s in shots]
    assert {s.prompt_text for s in shots} == {"Smooth camera move"}
    assert ReferenceImage.objects.count() == 3
    assert no_api_calls(site)


def test_per_shot_prompts_from_a_file(site, tmp_path):
    prompts = tmp_path / "shots.txt"
    prompts.write_text("# my storyboard\nWide shot of the bay\n\nClose-up of a gull\n")
    result = sora("generate", "--shot-prompts", prompts, "--seconds", "4")
    assert result.code == 0, result.err
    sequence = Sequence.objects.get()
    assert [s.prompt_text for s in sequence.shots.order_by("position")] == [
        "Wide shot of the bay", "Close-up of a gull"]
    both = sora("generate", "A prompt too", "--shot-prompts", prompts)
    assert both.code == 2 and "not both" in both.err


def test_a_bad_shot_leaves_nothing_behind(site, tmp_path):
    good = make_image(tmp_path / "good.png")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image at all")
    result = sora("generate", "A tour", "-i", f"{good},{good},{bad}")
    assert result.code == 2
    assert "Shot 3:" in result.err
    assert not Sequence.objects.exists() and not VideoJob.objects.exists() and not ReferenceImage.objects.exists()
    assert no_api_calls(site)


@pytest.mark.slow  # a subprocess talks HTTP to the emulator
def test_subprocess_generate_wait(site, tmp_path):
    result = sora_process(site, "generate", "A paper boat on a stream", "--seconds", "4", "--size", "1280x720",
                          "--wait", "--output", "boat.mp4", cwd=tmp_path)
    assert result.code == 0, result.err
    assert result.out.strip() == "boat.mp4"
    assert media.probe(tmp_path / "boat.mp4").duration == pytest.approx(4, abs=0.3)
    job = VideoJob.objects.get()  # the subprocess wrote to the test database
    assert (job.status, job.provider) == (JobStatus.COMPLETED, "default")
    assert job.assets.count() == 3
    assert "Enqueued" not in result.err  # the queue's INFO logging stays out of the command's output
    assert "sk-emulator" not in result.out + result.err
