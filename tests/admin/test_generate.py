"""The Generate page (the job add view): choices, cost, reference images, refusals."""
from __future__ import annotations

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from videos.models import JobStatus, Prompt, ReferenceImage, VideoJob

from ..profile_checks import queued_funcs
from ..support import settle
from .conftest import png

pytestmark = pytest.mark.django_db(transaction=True)

ADD = "admin:sora_videos_videojob_add"


def post(client, **data):
    base = {"provider": "emu", "model": "sora-2", "size": "1280x720", "seconds": "4", "fit": "crop"}
    base.update(data)
    return client.post(reverse(ADD), base, follow=True)


def test_page_embeds_the_model_table_and_cost(sora, op):
    response = op.get(reverse(ADD))
    assert response.status_code == 200
    html = response.content.decode()
    table = json.loads(html.split('id="sora-models" type="application/json">')[1].split("</script>")[0])
    assert table["providers"]["emu"]["models"]["sora-2"]["sizes"] == ["720x1280", "1280x720"]
    assert table["providers"]["emu"]["models"]["sora-2-pro"]["prices"]["1792x1024"] == "0.50"
    assert response.context["estimate"] is not None
    assert "Local emulator." in html
    assert "sk-emulator" not in html and "SORA_TEST_API_KEY" not in html
    assert "sora_videos/admin/generate.js" in html


def test_generate_creates_a_job_and_redirects_to_it(sora, op, operator):
    response = post(op, text="A red kite over a green park, slow pan", seconds="8")
    job = VideoJob.objects.get()
    assert response.redirect_chain[-1][0] == reverse("admin:sora_videos_videojob_change", args=[job.pk])
    assert job.status == JobStatus.PENDING and job.seconds == 8 and job.owner == operator
    assert queued_funcs() == ["videos.tasks.submit_due"]
    assert any(f"Job #{job.pk} is queued" in str(m) for m in response.context["messages"])


def test_generate_while_the_broker_is_down_keeps_the_job_and_says_so(sora, op, broker_down):
    """The job is made and shown; the operator is told it waits for the workers, not to retry."""
    response = post(op, text="A red kite over a green park, slow pan")
    job = VideoJob.objects.get()
    assert response.redirect_chain[-1][0] == reverse("admin:sora_videos_videojob_change", args=[job.pk])
    messages = [(m.level_tag, str(m)) for m in response.context["messages"]]
    assert ("success", messages[0][1]) == messages[0] and f"Job #{job.pk} is queued" in messages[0][1]
    assert messages[1][0] == "warning" and "The workers cannot be reached right now" in messages[1][1]
    assert job.status == JobStatus.PENDING and sora.stats()["requests"]["create"] == 0


def test_structured_fields_are_composed_and_can_be_saved(sora, op):
    post(op, style="90s documentary", subject="A gourmet burger", action="steam rises", save_as="Burger")
    job = VideoJob.objects.get()
    prompt = Prompt.objects.get()
    assert job.prompt == prompt and prompt.title == "Burger"
    assert job.prompt_text == "90s documentary. A gourmet burger. steam rises."


def test_saved_prompt(sora, op):
    saved = Prompt.objects.create(title="Kite", text="A kite in the wind")
    post(op, saved_prompt=saved.pk)
    job = VideoJob.objects.get()
    assert job.prompt == saved and job.prompt_text == "A kite in the wind"


def test_saved_prompt_and_text_together_are_refused(sora, op):
    saved = Prompt.objects.create(title="Kite", text="A kite in the wind")
    response = post(op, saved_prompt=saved.pk, text="Something else")
    assert response.status_code == 200
    assert "not both" in response.content.decode()
    assert not VideoJob.objects.exists()


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"text": ""}, "text", "The prompt is empty"),
        ({"text": "x", "size": "1792x1024"}, "size", "does not offer size 1792x1024"),
        ({"text": "x", "seconds": "5"}, "seconds", "does not offer 5 seconds"),
        ({"text": "x", "model": "sora-9"}, "model", "has no model"),
        ({"text": "x", "provider": "elsewhere"}, "provider", "Unknown provider"),
        ({"text": "x", "seed": "7"}, "seed", "does not accept seed"),
    ],
)
def test_invalid_input_is_a_form_error_and_no_call(sora, op, data, field, words):
    response = post(op, **data)
    assert response.status_code == 200
    form = response.context["form"]
    assert words in " ".join(form.errors[field])
    assert not VideoJob.objects.exists()
    assert sora.stats()["requests"]["create"] == 0


def test_over_budget_is_refused_before_anything_is_stored(sora, op, settings):
    settings.SORA_VIDEOS = {**settings.SORA_VIDEOS, "USER_MONTHLY_BUDGET": "0.50"}
    upload = SimpleUploadedFile("ref.png", png(), content_type="image/png")
    response = post(op, text="A kite", seconds="8", reference_upload=upload)
    assert response.status_code == 200
    assert "Over budget" in " ".join(response.context["form"].non_field_errors())
    assert not VideoJob.objects.exists() and not ReferenceImage.objects.exists()
    assert "0.50 USD" in response.content.decode()  # the budget left is shown


def test_reference_of_another_size_is_fitted_at_submission(sora, op):
    upload = SimpleUploadedFile("ref.png", png(640, 480), content_type="image/png")
    post(op, text="A boat from the picture sails away", reference_upload=upload, fit="letterbox")
    job = VideoJob.objects.get()
    assert job.reference_image.size == "640x480" and job.reference_fit == "letterbox"
    [job] = settle([job])
    assert job.status == JobStatus.COMPLETED, job.error_message


def test_damaged_reference_is_a_field_error(sora, op):
    upload = SimpleUploadedFile("ref.png", b"not an image at all", content_type="image/png")
    response = post(op, text="A kite", reference_upload=upload)
    assert "not an image we can read" in " ".join(response.context["form"].errors["reference_upload"])
    assert not VideoJob.objects.exists()


def test_preview_step_without_script(sora, op):
    upload = SimpleUploadedFile("ref.png", png(640, 480), content_type="image/png")
    response = post(op, text="A kite", reference_upload=upload, _preview="1")
    ref = ReferenceImage.objects.get()
    assert response.context["reference"] == ref
    fit_url = reverse("admin:sora_videos_referenceimage_fit", args=[ref.pk, "1280x720", "crop"])
    assert fit_url in response.content.decode()
    assert not VideoJob.objects.exists()
    # then generating keeps the stored image
    post(op, text="A kite", reference_image=ref.pk)
    assert VideoJob.objects.get().reference_image == ref


def test_upload_endpoint_and_fitted_png(sora, op):
    url = reverse("admin:sora_videos_videojob_reference_upload")
    response = op.post(url, {"image": SimpleUploadedFile("r.png", png(640, 480), content_type="image/png")})
    assert response.status_code == 200
    data = response.json()
    assert (data["width"], data["height"]) == (640, 480)
    for mode in ("crop", "letterbox"):
        fitted = op.get(reverse("admin:sora_videos_referenceimage_fit", args=[data["id"], "720x1280", mode]))
        assert fitted.status_code == 200 and fitted["Content-Type"] == "image/png"
        assert Image.open(io.BytesIO(fitted.content)).size == (720, 1280)
    bad = op.post(url, {"image": SimpleUploadedFile("r.png", b"junk", content_type="image/png")})
    assert bad.status_code == 400 and "not an image" in bad.json()["error"]
    huge = reverse("admin:sora_videos_referenceimage_fit", args=[data["id"], "99999x99999", "crop"])
    assert op.get(huge).status_code == 400  # only sizes some model offers


def test_generate_needs_the_submit_permission(sora, wc):
    assert wc.get(reverse(ADD)).status_code == 403
    response = wc.post(reverse(ADD), {"text": "A kite", "provider": "emu", "model": "sora-2", "size": "1280x720",
                                      "seconds": "4"})
    assert response.status_code == 403
    upload = wc.post(reverse("admin:sora_videos_videojob_reference_upload"),
                     {"image": SimpleUploadedFile("r.png", png(), content_type="image/png")})
    assert upload.status_code == 403
    assert not VideoJob.objects.exists() and not ReferenceImage.objects.exists()
    changelist = wc.get(reverse("admin:sora_videos_videojob_changelist")).content.decode()
    assert "Generate video" not in changelist


def test_saved_prompts_are_found_by_autocomplete(sora, op, operator):
    Prompt.objects.create(title="Kite at dawn", text="A kite", owner=operator)
    Prompt.objects.create(title="Boat", text="A boat", owner=operator)
    response = op.get(reverse("admin:autocomplete"), {"app_label": "sora_videos", "model_name": "videojob",
                                                      "field_name": "prompt", "term": "kite"})
    assert [r["text"] for r in response.json()["results"]] == ["Kite at dawn"]


def test_a_diffusion_server_takes_any_size_length_and_its_sound_inputs(emulators, settings, tmp_path, op):
    from ..support import sora_settings

    emu = emulators.get(dialect="vllm-omni")
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.SORA_VIDEOS = sora_settings(emu, provider={"DIALECT": "vllm-omni"})
    html = op.get(reverse(ADD)).content.decode()
    table = json.loads(html.split('id="sora-models" type="application/json">')[1].split("</script>")[0])
    wan = table["providers"]["emu"]["models"]["Wan-AI/Wan2.2-TI2V-5B-Diffusers"]
    assert wan["open_sizes"] and wan["open_seconds"] and "generate_sound" in wan["extra_params"]
    assert 'data-sora-open="size"' in html and 'data-sora-extra="generate_sound"' in html
    post(op, text="Rain on a tin roof", model="Wan-AI/Wan2.2-TI2V-5B-Diffusers", size="832x480", seconds="2",
         custom_size="1000x562", custom_seconds="6", generate_sound="on", sound_duration="3")
    job = VideoJob.objects.get()
    assert (job.size, job.seconds) == ("1000x562", 6)
    assert job.extra_params == {"generate_sound": True, "sound_duration": 3.0}
    refused = post(op, text="Too wide", model="Wan-AI/Wan2.2-TI2V-5B-Diffusers", custom_size="4000x2000")
    assert "sides from 64 to 1920" in refused.content.decode() and VideoJob.objects.count() == 1
