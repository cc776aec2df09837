"""The sequence admin: Generate sequence, the sequence page, retry / replace a shot, stitch again, delete.

Every action with its refusals (missing permission, wrong state), per-object messages,
never a 500; the changelist costs the same number of queries for 10 and 200 sequences.
"""
from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.profile_checks import queued_funcs
from tests.sequences.factory import bulk_sequences, sequence_rows, stitched_sequence
from tests.support import drain, settle
from videos.models import JobStatus, Sequence, SequenceShot, SequenceStatus, VideoJob
from videos.storage import get_storage

from .conftest import messages_of, png, staff

pytestmark = pytest.mark.django_db(transaction=True)

ADD = "admin:sora_videos_sequence_add"


@pytest.fixture
def keep_dir(tmp_path_factory: Any) -> Any:
    return tmp_path_factory.mktemp("sequence-files")


@pytest.fixture
def stitched(sora: Any, operator: Any, keep_dir: Any) -> Sequence:
    return stitched_sequence(keep_dir, operator)


def change_url(sequence: Sequence) -> str:
    return reverse("admin:sora_videos_sequence_change", args=[sequence.pk])


def shot_url(name: str, sequence: Sequence, position: int) -> str:
    return reverse(f"admin:sora_videos_sequence_{name}_shot", args=[sequence.pk, position])


def form_data(*shots: dict[str, Any], **settings: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "", "provider": "emu", "model": "sora-2", "size": "1280x720", "seconds": "4", "fit": "crop",
        "shots-TOTAL_FORMS": str(max(3, len(shots))), "shots-INITIAL_FORMS": "0", "shots-MIN_NUM_FORMS": "0",
        "shots-MAX_NUM_FORMS": "20",
    }
    data.update(settings)
    for index, shot in enumerate(shots):
        for key, value in shot.items():
            data[f"shots-{index}-{key}"] = value
    return data


def texts(response: Any) -> list[str]:
    """The messages without their links' markup."""
    return [re.sub(r"<[^>]+>", "", m) for m in messages_of(response)]


def viewer_client() -> Client:
    client = Client()
    client.force_login(staff("onlyviews", "view_videojob"))
    return client


# --- Generate sequence ---------------------------------------------------------------------------
def test_generate_page_creates_a_sequence_that_is_stitched_and_shown_in_the_gallery(sora, op):
    page = op.get(reverse(ADD))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="shots-0-prompt"' in html and 'name="shots-TOTAL_FORMS"' in html
    assert "Generate sequence" in html and 'id="sora-shot-template"' in html
    assert sora.api_key not in html

    data = form_data(
        {"prompt": "Wide shot of a lighthouse at dusk, slow push in",
         "image": SimpleUploadedFile("first.png", png(1280, 720), "image/png")},
        {"prompt": "Close-up of the lamp turning on", "seconds": "8"},
        title="Lighthouse at dusk",
    )
    response = op.post(reverse(ADD), data)
    sequence = Sequence.objects.get()
    assert response.status_code == 302 and response["Location"] == change_url(sequence)
    shots = list(sequence.shots.select_related("job", "reference_image").order_by("position"))
    assert [(s.prompt_text, s.seconds) for s in shots] == [
        ("Wide shot of a lighthouse at dusk, slow push in", 4), ("Close-up of the lamp turning on", 8)]
    assert shots[0].reference_image.original_name == "first.png" and shots[1].reference_image is None
    assert sequence.title == "Lighthouse at dusk" and sequence.owner.username == "operator"
    followed = op.get(response["Location"])
    [message] = messages_of(followed)
    assert f"Sequence #{sequence.pk} is queued: 2 shots" in message and "1.20 USD" in message

    settle()
    sequence.refresh_from_db()
    assert sequence.is_current, sequence.error_message
    assert sequence.duration == pytest.approx(12, abs=0.3)
    detail = op.get(reverse("videos:sequence_detail", args=[sequence.uuid])).content.decode()
    video = sequence.assets.get(variant="video")
    assert reverse("videos:sequence_asset", args=[video.pk]) in detail
    assert f"{sequence.duration:.2f} s" in detail and "Lighthouse at dusk" in detail
    for shot in shots:
        assert reverse("videos:detail", args=[shot.job.uuid]) in detail
    admin_page = op.get(change_url(sequence)).content.decode()
    assert reverse("videos:sequence_asset", args=[video.pk]) in admin_page
    assert "Stitch again" in admin_page and "Retry</button>" not in admin_page


def test_generate_errors_keep_the_uploaded_images_and_point_at_the_shot(sora, op):
    data = form_data(
        {"prompt": "A red kite over a park", "image": SimpleUploadedFile("kite.png", png(), "image/png")},
        {"prompt": "The kite dives", "seconds": "7"},
    )
    response = op.post(reverse(ADD), data)
    assert response.status_code == 200
    shots = response.context["shots"]
    assert shots.forms[1].errors["seconds"] == ["sora-2 does not offer 7 seconds; choose one of 4, 8, 12."]
    assert "Shot 2: sora-2 does not offer 7 seconds" in response.content.decode()
    kept = shots.forms[0].data["shots-0-reference_image"]
    html = response.content.decode()
    assert f'name="shots-0-reference_image" value="{kept}"' in html and "Keeping <strong>kite.png</strong>" in html
    assert not Sequence.objects.exists() and not VideoJob.objects.exists()

    data = form_data({"prompt": "A red kite over a park", "reference_image": kept},
                     {"prompt": "The kite dives", "seconds": "8"})
    response = op.post(reverse(ADD), data)
    assert response.status_code == 302
    first = Sequence.objects.get().shots.get(position=1)
    assert first.reference_image_id == int(kept)


def test_several_images_chosen_at_once_start_the_shots_in_order(sora, op):
    """One file input takes many images: each starts a shot, taking the first shot's prompt."""
    data = form_data({"prompt": "The camera pushes in slowly"})
    data["images"] = [SimpleUploadedFile(f"frame{n}.png", png(color=(40 * n, 90, 20)), "image/png")
                      for n in range(1, 5)]
    response = op.post(reverse(ADD), data)
    assert response.status_code == 302, messages_of(response)
    shots = list(Sequence.objects.get().shots.order_by("position"))
    assert len(shots) == 4
    assert [s.prompt_text for s in shots] == ["The camera pushes in slowly"] * 4
    assert len({s.reference_image_id for s in shots}) == 4 and all(s.reference_image_id for s in shots)


@pytest.mark.parametrize("shots, overrides, where, text", [
    ([], {}, "shots", "Write the prompt of at least one shot."),
    ([{"prompt": "", "seconds": "8"}], {}, 0, "Write a prompt for this shot"),
    ([{"prompt": "A cat", "image": SimpleUploadedFile("notes.png", b"not an image", "image/png")}], {}, 0,
     "notes.png"),
    ([{"prompt": "A cat"}], {"size": "1920x1080"}, "size", "does not offer size 1920x1080"),
    ([{"prompt": "A cat"}, {"prompt": "x" * 40000}], {}, 1, "characters"),
])
def test_generate_refuses_bad_input_with_a_clear_message(sora, op, shots, overrides, where, text):
    response = op.post(reverse(ADD), form_data(*shots, **overrides))
    assert response.status_code == 200
    assert not Sequence.objects.exists() and not VideoJob.objects.exists()
    html = response.content.decode()
    assert "Please correct the errors below." in html or "errornote" in html
    if where == "shots":
        assert text in " ".join(response.context["shots"].non_form_errors())
    elif isinstance(where, int):
        assert text in str(response.context["shots"].forms[where].errors)
    else:
        assert text in " ".join(response.context["form"].errors[where])


def test_generate_needs_the_spending_permission(sora, wc):
    assert wc.get(reverse(ADD)).status_code == 403
    assert wc.post(reverse(ADD), form_data({"prompt": "A cat"})).status_code == 403
    assert not Sequence.objects.exists()
    changelist = wc.get(reverse("admin:sora_videos_sequence_changelist"))
    assert changelist.status_code == 200
    assert "Generate sequence" not in changelist.content.decode()
    actions = [name for name, _ in changelist.context["action_form"].fields["action"].choices]
    assert "retry_failed_shots" not in actions and "restitch_sequences" in actions
    assert "delete_selected" not in actions


# --- the sequence page ----------------------------------------------------------------------------
def test_sequence_page_shows_shots_jobs_errors_and_the_right_buttons(sora, op, wc):
    sequence = sequence_rows([JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.IN_PROGRESS],
                             errors={2: "The render crashed"})
    html = op.get(change_url(sequence)).content.decode()
    jobs = [s.job for s in sequence.shots.order_by("position")]
    for job in jobs:
        assert reverse("admin:sora_videos_videojob_change", args=[job.pk]) in html
    assert "The render crashed" in html
    assert html.count("Retry</button>") == 1 and shot_url("retry", sequence, 2) in html
    assert shot_url("replace", sequence, 1) in html and shot_url("replace", sequence, 2) in html
    assert shot_url("replace", sequence, 3) not in html  # still rendering
    assert reverse("admin:sora_videos_sequence_stitch", args=[sequence.pk]) not in html  # shots not done
    assert "Stitching waits: shots 2 (failed), 3 (in progress) are not completed." in html
    assert 'data-active="1"' in html.split('id="sora-sequence"')[1].split(">")[0]  # shot 3 still renders: watch it
    assert sora.api_key not in html
    job_page = op.get(reverse("admin:sora_videos_videojob_change", args=[jobs[1].pk])).content.decode()
    assert f'Shot 2 of <a href="{change_url(sequence)}">' in job_page
    watcher_html = wc.get(change_url(sequence)).content.decode()
    assert "Retry</button>" not in watcher_html and "Replace…" not in watcher_html
    assert viewer_client().get(change_url(sequence)).status_code == 200
    assert op.get(reverse("admin:sora_videos_sequence_change", args=[999999])).status_code == 302  # admin: "doesn't exist"
    VideoJob.objects.filter(pk=jobs[2].pk).update(status=JobStatus.FAILED)
    html = op.get(change_url(sequence)).content.decode()
    assert "data-active" not in html.split('id="sora-sequence"')[1].split(">")[0]  # nothing moves: no polling


def test_rendering_sequence_page_polls_the_status_json(sora, op):
    sequence = sequence_rows([JobStatus.COMPLETED, JobStatus.IN_PROGRESS])
    html = op.get(change_url(sequence)).content.decode()
    status_url = reverse("videos:sequence_status", args=[sequence.uuid])
    assert f'data-seq-status-url="{status_url}" data-active="1"' in html
    data = op.get(status_url).json()
    assert [s["status"] for s in data["shots"]] == ["completed", "in_progress"]
    assert data["active"] and data["shots_done"] == 1 and data["progress"] == 70


# --- retry and replace a shot ---------------------------------------------------------------------
def test_retry_a_failed_shot_keeps_the_others(sora, op):
    sequence = sequence_rows([JobStatus.COMPLETED, JobStatus.FAILED], errors={2: "The render crashed"})
    before = {s.position: s.job_id for s in sequence.shots.all()}
    response = op.post(shot_url("retry", sequence, 2), follow=True)
    [message] = texts(response)
    shot = sequence.shots.get(position=2)
    assert shot.job_id != before[2] and shot.attempts == 2
    assert f"shot 2 is rendered again as job #{shot.job_id} (0.40 USD); the other shots are kept." in message
    assert sequence.shots.get(position=1).job_id == before[1]
    sequence.refresh_from_db()
    assert sequence.status == SequenceStatus.RENDERING and sequence.revision == 1
    assert VideoJob.objects.get(pk=before[2]).status == JobStatus.FAILED  # the old attempt stays a job


def test_retry_refusals(sora, op, wc):
    sequence = sequence_rows([JobStatus.COMPLETED, JobStatus.IN_PROGRESS, JobStatus.FAILED])
    jobs = dict(sequence.shots.values_list("position", "job_id"))
    cases = {1: "already completed", 2: "still in progress", 9: "has no shot 9"}
    for position, text in cases.items():
        response = op.post(shot_url("retry", sequence, position), follow=True)
        assert response.status_code == 200
        [message] = messages_of(response)
        assert "skipped" in message and text in message, message
    assert wc.post(shot_url("retry", sequence, 3)).status_code == 403
    assert op.get(shot_url("retry", sequence, 3)).status_code == 405
    assert dict(sequence.shots.values_list("position", "job_id")) == jobs
    assert VideoJob.objects.count() == 3


def test_replace_a_shot_with_a_new_prompt_image_and_length(sora, op):
    sequence = sequence_rows([JobStatus.COMPLETED, JobStatus.NEEDS_ATTENTION])
    page = op.get(shot_url("replace", sequence, 2))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Shot 2 of Three-shot test" in html  # the current prompt
    response = op.post(shot_url("replace", sequence, 2), {
        "prompt": "The gull takes off, low angle", "seconds": "8",
        "image": SimpleUploadedFile("gull.png", png(1280, 720), "image/png"),
    })
    assert response.status_code == 302 and response["Location"] == change_url(sequence)
    shot = sequence.shots.select_related("job", "reference_image").get(position=2)
    assert (shot.prompt_text, shot.seconds, shot.job.prompt_text, shot.job.seconds) == (
        "The gull takes off, low angle", 8, "The gull takes off, low angle", 8)
    assert shot.reference_image.original_name == "gull.png" and shot.attempts == 2
    [message] = messages_of(op.get(change_url(sequence)))
    assert "shot 2 is rendered from the new request" in message


def test_replace_refusals(sora, op, wc):
    sequence = sequence_rows([JobStatus.IN_PROGRESS, JobStatus.FAILED])
    url = shot_url("replace", sequence, 2)
    unchanged = op.post(url, {"prompt": "Shot 2 of Three-shot test", "seconds": "4"})
    assert unchanged.status_code == 200
    assert "Say what to replace" in str(unchanged.context["form"].errors)
    bad_image = op.post(url, {"prompt": "New", "seconds": "4",
                              "image": SimpleUploadedFile("x.png", b"nope", "image/png")})
    assert "x.png" in str(bad_image.context["form"].errors["image"])
    bad_seconds = op.post(url, {"prompt": "New", "seconds": "7"})
    assert bad_seconds.status_code == 200 and bad_seconds.context["form"].errors
    busy = op.get(shot_url("replace", sequence, 1)).content.decode()
    assert "Shot 1 is still in progress" in busy and 'value="Replace shot 1"' not in busy
    busy_post = op.post(shot_url("replace", sequence, 1), {"prompt": "New", "seconds": "4"})
    assert "wait for it to finish" in str(busy_post.context["form"].errors)
    missing = op.get(shot_url("replace", sequence, 5), follow=True)
    assert "has no shot 5" in messages_of(missing)[0]
    assert wc.get(url).status_code == 403
    assert wc.post(url, {"prompt": "New", "seconds": "4"}).status_code == 403
    assert VideoJob.objects.count() == 2


# --- stitch again -----------------------------------------------------------------------------------
def test_stitch_again_is_queued_and_refused_when_a_shot_is_not_done(sora, op, stitched):
    url = reverse("admin:sora_videos_sequence_stitch", args=[stitched.pk])
    before = stitched.stitched_at
    response = op.post(url, follow=True)
    assert "stitching is queued" in messages_of(response)[0]
    assert "videos.tasks.stitch_sequence" in queued_funcs()
    drain()
    stitched.refresh_from_db()
    assert stitched.is_current and stitched.stitched_at > before

    waiting = sequence_rows([JobStatus.COMPLETED, JobStatus.FAILED])
    [message] = messages_of(op.post(reverse("admin:sora_videos_sequence_stitch", args=[waiting.pk]), follow=True))
    assert "skipped. Not stitched: shot 2 (failed) is not completed." in message
    Sequence.objects.filter(pk=stitched.pk).update(status=SequenceStatus.STITCHING, stitch_started_at=timezone.now())
    [message] = messages_of(op.post(url, follow=True))
    assert "it is being stitched right now" in message
    assert op.get(url).status_code == 405
    assert viewer_client().post(url).status_code == 403


# --- delete -----------------------------------------------------------------------------------------
def test_delete_removes_the_stitched_files_and_keeps_the_jobs(sora, op, stitched):
    keys = [a.file.name for a in stitched.assets.all()]
    jobs = list(stitched.shots.values_list("job_id", flat=True))
    storage = get_storage()
    assert all(storage.exists(k) for k in keys) and len(keys) == 3
    url = reverse("admin:sora_videos_sequence_delete", args=[stitched.pk])
    page = op.get(url).content.decode()
    assert "Its shots' jobs are kept" in page and all(f"#{pk}</a>" in page for pk in jobs)
    response = op.post(url, {"apply": "1"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("admin:sora_videos_sequence_changelist")
    [message] = messages_of(response)
    assert "deleted with its stitched files" in message and f"#{jobs[0]}" in message
    assert not Sequence.objects.exists() and not SequenceShot.objects.exists()
    assert not any(storage.exists(k) for k in keys)
    assert VideoJob.objects.filter(pk__in=jobs, status=JobStatus.COMPLETED).count() == 2
    assert all(VideoJob.objects.get(pk=pk).assets.count() == 3 for pk in jobs)


def test_delete_refusals(sora, op, wc):
    sequence = sequence_rows([JobStatus.COMPLETED], status=SequenceStatus.STITCHING)
    Sequence.objects.filter(pk=sequence.pk).update(stitch_started_at=timezone.now())
    url = reverse("admin:sora_videos_sequence_delete", args=[sequence.pk])
    [message] = messages_of(op.post(url, {"apply": "1"}, follow=True))
    assert "being stitched right now" in message and Sequence.objects.filter(pk=sequence.pk).exists()
    no_delete = Client()
    no_delete.force_login(staff("nodelete", "view_videojob", "change_videojob", "submit_videojob"))
    assert no_delete.get(url).status_code == 403
    assert no_delete.post(url, {"apply": "1"}).status_code == 403
    assert Sequence.objects.filter(pk=sequence.pk).exists()


# --- changelist actions -------------------------------------------------------------------------------
def test_changelist_actions_report_per_sequence(sora, op, wc):
    failing = sequence_rows([JobStatus.COMPLETED, JobStatus.FAILED], title="Failing one")
    fine = sequence_rows([JobStatus.COMPLETED, JobStatus.COMPLETED], title="Fine one")
    url = reverse("admin:sora_videos_sequence_changelist")
    response = op.post(url, {"action": "retry_failed_shots", "_selected_action": [failing.pk, fine.pk]},
                       follow=True)
    text = " | ".join(texts(response))
    new = failing.shots.get(position=2).job_id
    assert f"“Failing one”: retried shot 2 as job #{new}" in text
    assert "“Fine one”: skipped. No shot needs a retry" in text
    response = op.post(url, {"action": "restitch_sequences", "_selected_action": [failing.pk, fine.pk]}, follow=True)
    text = " | ".join(messages_of(response))
    assert "“Fine one”: stitching is queued" in text and "“Failing one”: skipped. Not stitched" in text
    confirm = op.post(url, {"action": "delete_sequences", "_selected_action": [fine.pk]})
    assert confirm.status_code == 200 and "Yes, delete" in confirm.content.decode()
    assert Sequence.objects.filter(pk=fine.pk).exists()
    done = op.post(url, {"action": "delete_sequences", "_selected_action": [fine.pk], "apply": "1"}, follow=True)
    assert "deleted with its stitched files" in messages_of(done)[0]
    assert not Sequence.objects.filter(pk=fine.pk).exists()
    refused = wc.post(url, {"action": "retry_failed_shots", "_selected_action": [failing.pk]}, follow=True)
    assert failing.shots.get(position=2).job_id == new  # no new job for the watcher
    assert refused.status_code == 200


def test_changelist_filters_search_and_thumbnails(sora, op, operator):
    bulk_sequences(3, operator)
    sequence_rows([JobStatus.FAILED], title="Lighthouse story")
    url = reverse("admin:sora_videos_sequence_changelist")

    def titles(query: str) -> list[str]:
        return [s.title for s in op.get(url + query).context["cl"].result_list]

    assert titles("?q=lighthouse") == ["Lighthouse story"]
    assert titles("?status__exact=needs_attention") == ["Lighthouse story", "Bulk sequence 2: a kite over a park"]
    html = op.get(url).content.decode()
    assert 'class="sora-thumb"' in html and "1 / 1" not in html and "2 / 3" in html and "3 / 3" in html
    assert "1 failed" in html and "12.0 s" in html


def _count(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
        assert response.status_code == 200
        response.content  # noqa: B018
    return len(ctx.captured_queries)


@pytest.mark.parametrize("query", ["", "?status__exact=completed&o=-3", "?q=kite"])
def test_changelist_queries_do_not_grow_with_sequences(sora, op, operator, query):
    url = reverse("admin:sora_videos_sequence_changelist") + query
    bulk_sequences(10, operator)
    _count(op, url)
    small = _count(op, url)
    bulk_sequences(190, operator)
    assert Sequence.objects.count() == 200
    large = _count(op, url)
    assert small == large, (small, large)
    assert large <= 14, large


def test_login_required(sora, client):
    sequence = sequence_rows([JobStatus.COMPLETED])
    for url in (reverse(ADD), change_url(sequence), shot_url("replace", sequence, 1)):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]
