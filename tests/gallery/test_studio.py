"""The gallery as the team's studio: roles, the make page, each video's actions, spend, sign-in.

Everything goes through the Django test client against the real services and the emulator's
settings; a member's requests create exactly the rows (and no more) that the admin's would.
"""
from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from PIL import Image

from videos import roles
from videos.models import JobKind, JobStatus, Sequence, VideoJob

from ..factories import UserFactory, VideoJobFactory
from .conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _png(size=(1280, 720), color=(200, 80, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def member_of(group: str, username: str, **fields) -> Client:
    roles.ensure_roles()
    user = UserFactory(username=username, password=PASSWORD, **fields)
    user.groups.add(Group.objects.get(name=group))
    client = Client()
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def maker(sora) -> Client:
    return member_of(roles.MAKERS, "mia", first_name="Mia")


@pytest.fixture
def viewer_client(sora) -> Client:
    return member_of(roles.VIEWERS, "vic")


@pytest.fixture
def manager(sora) -> Client:
    return member_of(roles.MANAGERS, "max")


def _make(client: Client, **fields):
    data = {"text": "A paper boat drifts down a rainy street gutter", "provider": "emu", "model": "sora-2",
            "size": "1280x720", "seconds": "4", "fit": "crop", **fields}
    return client.post(reverse("videos:create"), data)


# --- roles ---------------------------------------------------------------------------------
def test_roles_command_is_idempotent_and_keeps_what_a_site_added(capsys):
    call_command("sora", "roles")
    first = capsys.readouterr().out
    assert "Video viewers: created with 7 permissions" in first and "Video managers: created" in first
    makers = Group.objects.get(name=roles.MAKERS)
    assert {"view_videojob", "submit_videojob", "delete_videojob"} <= set(
        makers.permissions.values_list("codename", flat=True))
    assert not makers.permissions.filter(codename="manage_videojob").exists()
    extra = Group.objects.get(name=roles.VIEWERS)
    extra.permissions.add(*makers.permissions.filter(codename="submit_videojob"))  # a site's own choice
    call_command("sora", "roles")
    again = capsys.readouterr().out
    assert again.count("exists, up to date") == 4
    assert extra.permissions.filter(codename="submit_videojob").exists()  # never removed


# --- the make page ------------------------------------------------------------------------
def test_a_maker_makes_a_video_from_the_gallery(maker):
    gallery = maker.get(reverse("videos:gallery")).content.decode()
    assert reverse("videos:create") in gallery and "New video" in gallery
    page = maker.get(reverse("videos:create")).content.decode()
    assert 'id="sora-models"' in page and "Estimated cost" in page and "0.40" in page
    response = _make(maker)
    job = VideoJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("videos:detail", args=[job.uuid])
    assert (job.owner, job.status, job.kind, job.estimated_cost) == (maker.user, JobStatus.PENDING, JobKind.CREATE,
                                                                    Decimal("0.40"))
    assert job.extra_params == {}
    assert "Your video is queued" in maker.get(response["Location"]).content.decode()


def test_bad_input_is_refused_on_its_field_and_nothing_is_written(maker):
    response = _make(maker, text="   ")
    assert response.status_code == 400
    assert "The prompt is empty" in response.content.decode()
    response = _make(maker, seconds="7")
    assert response.status_code == 400 and "seconds" in response.content.decode()
    assert VideoJob.objects.count() == 0 and Sequence.objects.count() == 0


def test_prompts_joined_by_bars_or_several_images_make_a_sequence(maker):
    response = _make(maker, text="A red kite rises || The kite loops over the dunes", title="Kite")
    sequence = Sequence.objects.get()
    assert response["Location"] == reverse("videos:sequence_detail", args=[sequence.uuid])
    assert sequence.title == "Kite" and sequence.shots.count() == 2 and sequence.owner == maker.user
    images = [SimpleUploadedFile(f"shot{n}.png", _png(color=(n * 60, 10, 10)), "image/png") for n in range(3)]
    response = _make(maker, text="The camera pushes in slowly", shot_images=images)
    second = Sequence.objects.exclude(pk=sequence.pk).get()
    assert second.shots.count() == 3
    assert [shot.reference_image is not None for shot in second.shots.order_by("position")] == [True] * 3


def test_the_reference_image_preview_endpoints(maker, viewer_client):
    upload = maker.post(reverse("videos:reference_upload"), {"image": SimpleUploadedFile(
        "wide.png", _png((1600, 900)), "image/png")})
    data = upload.json()
    assert upload.status_code == 200 and (data["width"], data["height"]) == (1600, 900)
    fit = maker.get(reverse("videos:reference_fit", args=[data["id"], "720x1280", "letterbox"]))
    assert fit.status_code == 200 and fit["Content-Type"].startswith("image/")
    assert maker.get(reverse("videos:reference_fit", args=[data["id"], "1x1", "crop"])).status_code == 400
    refused = viewer_client.post(reverse("videos:reference_upload"), {"image": SimpleUploadedFile(
        "x.png", _png(), "image/png")})
    assert refused.status_code == 403 and "Video makers" in refused.json()["error"]
    bad = maker.post(reverse("videos:reference_upload"), {"image": SimpleUploadedFile("x.png", b"not", "image/png")})
    assert bad.status_code == 400 and bad.json()["error"]


def test_over_budget_the_button_is_disabled_and_the_server_refuses(maker, settings):
    settings.SORA_VIDEOS = {**settings.SORA_VIDEOS, "USER_MONTHLY_BUDGET": "0.50"}
    VideoJobFactory(owner=maker.user, done=True, estimated_cost=Decimal("0.40"))
    page = maker.get(reverse("videos:create")).content.decode()
    assert 'data-spendable="0.10"' in page and "data-sora-submit disabled" in page
    assert "Your budget left this month: <strong>0.10 USD</strong>" in page
    response = _make(maker)
    assert response.status_code == 400 and "Over budget" in response.content.decode()
    assert VideoJob.objects.count() == 1
    header = maker.get(reverse("videos:gallery")).content.decode()
    assert "0.10 left</strong> of 0.50" in header


def test_make_page_filled_from_a_video(maker):
    source = VideoJobFactory(owner=maker.user, status=JobStatus.FAILED, error_code="moderation_blocked",
                             prompt_text="A famous actor waves", size="720x1280", remote_id="video_m")
    page = maker.get(reverse("videos:detail", args=[source.uuid])).content.decode()
    assert "The provider refused this prompt" in page and f"?from={source.uuid}" in page
    filled = maker.get(reverse("videos:create"), {"from": str(source.uuid)}).content.decode()
    assert "A famous actor waves</textarea>" in filled and 'value="720x1280" selected' in filled


# --- each video's actions -----------------------------------------------------------------
def test_a_maker_remixes_extends_and_deletes_their_own_video(maker):
    job = VideoJobFactory(owner=maker.user, done=True)
    page = maker.get(reverse("videos:detail", args=[job.uuid])).content.decode()
    for slug in ("remix", "edit", "extend", "delete"):
        assert reverse("videos:act", args=[job.uuid, slug]) in page, slug
    confirm = maker.get(reverse("videos:act", args=[job.uuid, "remix"])).content.decode()
    assert "Estimated cost: <strong><span>0.40</span> USD" in confirm
    response = maker.post(reverse("videos:act", args=[job.uuid, "remix"]), {"prompt": "Make it night"})
    remix = VideoJob.objects.get(kind=JobKind.REMIX)
    assert response["Location"] == reverse("videos:detail", args=[remix.uuid])
    assert (remix.parent, remix.owner, remix.prompt_text) == (job, maker.user, "Make it night")
    maker.post(reverse("videos:act", args=[job.uuid, "extend"]), {"prompt": "Then dusk", "seconds": "4"})
    assert VideoJob.objects.get(kind=JobKind.EXTEND).seconds == 4
    assert maker.post(reverse("videos:act", args=[job.uuid, "remix"]), {"prompt": ""}).status_code == 200
    assert VideoJob.objects.filter(kind=JobKind.REMIX).count() == 1  # an empty prompt made nothing
    response = maker.post(reverse("videos:act", args=[job.uuid, "delete"]))
    assert response["Location"] == reverse("videos:gallery")
    job.refresh_from_db()
    assert job.status == JobStatus.DELETED


def test_someone_elses_video_only_a_manager_may_touch(maker, manager):
    other = VideoJobFactory(owner=manager.user, done=True)
    page = maker.get(reverse("videos:detail", args=[other.uuid])).content.decode()
    assert reverse("videos:act", args=[other.uuid, "remix"]) not in page
    refused = maker.post(reverse("videos:act", args=[other.uuid, "delete"]))
    assert refused.status_code == 403 and "Only the person who made this video" in refused.content.decode()
    assert VideoJob.objects.get(pk=other.pk).status == JobStatus.COMPLETED
    mine = VideoJobFactory(owner=maker.user, done=True)
    assert reverse("videos:act", args=[mine.uuid, "delete"]) in manager.get(
        reverse("videos:detail", args=[mine.uuid])).content.decode()
    manager.post(reverse("videos:act", args=[mine.uuid, "delete"]))
    assert VideoJob.objects.get(pk=mine.pk).status == JobStatus.DELETED


def test_a_viewer_sees_no_make_controls_and_is_told_whom_to_ask(viewer_client):
    UserFactory(username="root", is_superuser=True, email="root@example.com", first_name="Ruth", last_name="Root")
    job = VideoJobFactory(owner=viewer_client.user, done=True)
    gallery = viewer_client.get(reverse("videos:gallery")).content.decode()
    assert reverse("videos:create") not in gallery and "Spent" not in gallery
    page = viewer_client.get(reverse("videos:detail", args=[job.uuid])).content.decode()
    assert "/remix/" not in page and "Delete" not in page
    refused = viewer_client.get(reverse("videos:create"))
    text = refused.content.decode()
    assert refused.status_code == 403 and "“Video makers”" in text and "Ruth Root &lt;root@example.com&gt;" in text
    assert viewer_client.post(reverse("videos:act", args=[job.uuid, "remix"]), {"prompt": "x"}).status_code == 403
    assert VideoJob.objects.count() == 1


def test_a_signed_in_account_without_a_role_is_told_what_to_ask_for(sora):
    client = Client()
    client.force_login(UserFactory(username="newbie"))
    response = client.get(reverse("videos:gallery"))
    assert response.status_code == 403
    assert "“Video viewers”" in response.content.decode() and "newbie" in response.content.decode()


# --- spend --------------------------------------------------------------------------------
def test_managers_see_the_team_spend_and_makers_do_not(maker, manager):
    VideoJobFactory(owner=maker.user, done=True, estimated_cost=Decimal("1.20"), model="sora-2-pro")
    VideoJobFactory(owner=manager.user, done=True, estimated_cost=Decimal("0.40"))
    VideoJobFactory(owner=maker.user, status=JobStatus.FAILED, estimated_cost=Decimal("9"))  # never sent: free
    page = manager.get(reverse("videos:spend")).content.decode()
    assert "1.60 USD" in page and "<td>mia</td><td class=\"num\">1</td><td class=\"num\">1.20</td>" in page
    assert "sora-2-pro" in page and 'class="spend-plot"' in page
    assert maker.get(reverse("videos:spend")).status_code == 403
    assert reverse("videos:spend") in manager.get(reverse("videos:gallery")).content.decode()


# --- sign-in ------------------------------------------------------------------------------
def test_the_apps_own_sign_in_works_without_a_site_login_url(sora, settings):
    settings.LOGIN_URL = "/accounts/login/"  # Django's default: a fresh startproject site has no such page
    UserFactory(username="ann", password=PASSWORD)
    client = Client()
    response = client.get(reverse("videos:gallery"))
    assert response["Location"].startswith(reverse("videos:login") + "?next=")
    assert client.get(reverse("videos:login")).status_code == 200
    signed = client.post(reverse("videos:login"), {"username": "ann", "password": PASSWORD})
    assert signed.status_code == 302 and signed["Location"] == reverse("videos:gallery")
    out = client.post(reverse("videos:logout"))
    assert out["Location"].startswith(reverse("videos:login"))


def test_an_extension_reads_the_same_in_the_admin_and_the_gallery(maker, sora):
    from django.contrib.auth import get_user_model

    source = VideoJobFactory(owner=maker.user, done=True, seconds=4)
    extension = VideoJobFactory(owner=maker.user, done=True, kind=JobKind.EXTEND, parent=source, seconds=4)
    card = maker.get(reverse("videos:gallery")).content.decode()
    assert "Extension +4 s" in card
    page = maker.get(reverse("videos:detail", args=[extension.uuid])).content.decode()
    assert "+4 s <span class=\"muted\">added</span>" in page
    boss = get_user_model().objects.create_superuser("boss", "boss@example.com", PASSWORD)
    admin = Client()
    admin.force_login(boss)
    changelist = admin.get(reverse("admin:sora_videos_videojob_changelist")).content.decode()
    assert "1280x720 · +4 s" in changelist and "1280x720 · 4 s" in changelist


def test_the_local_emulator_is_named_once_by_the_banner(maker, settings):
    provider = {**settings.SORA_VIDEOS["PROVIDERS"]["emu"], "LABEL": "Local emulator"}  # as the site labels it
    settings.SORA_VIDEOS = {**settings.SORA_VIDEOS, "PROVIDERS": {"emu": provider}}
    VideoJobFactory(owner=maker.user, done=True)
    for url in (reverse("videos:gallery"), reverse("videos:create")):
        html = maker.get(url).content.decode()
        assert html.count("Local emulator") == 1, url


def test_a_sequence_does_not_take_a_single_reference_image_as_well(maker):
    shots = [SimpleUploadedFile(f"s{n}.png", _png(), "image/png") for n in range(2)]
    response = _make(maker, shot_images=shots, reference_upload=SimpleUploadedFile("r.png", _png(), "image/png"))
    assert response.status_code == 400 and "A sequence takes one image per shot" in response.content.decode()
    assert not Sequence.objects.exists() and not VideoJob.objects.exists()
