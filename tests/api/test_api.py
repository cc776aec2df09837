"""The REST API with a bearer token: each endpoint's permissions (anonymous, viewer, maker,
manager; project scoping), bad input answered 400 with field errors and no provider call, the
actions, files, the estimate, and the OpenAPI schema (drf-spectacular's own validation)."""
from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.test import Client
from PIL import Image

from videos import roles, tokens
from videos.models import ApiToken, JobKind, Project, VideoJob

from ..factories import UserFactory, VideoJobFactory
from ..gallery.test_studio import member_of

pytestmark = pytest.mark.django_db(transaction=True)


class Api:
    """A client that sends ``Authorization: Bearer <token>``."""

    def __init__(self, user=None, raw: str | None = None):
        self.client = Client()
        self.user = user
        self.raw = raw if raw is not None else (tokens.create(user, "tests")[1] if user is not None else "")

    def _headers(self, extra):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {self.raw}"} if self.raw else {}
        return {**headers, **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (extra or {}).items()}}

    def get(self, path, data=None, headers=None):
        return self.client.get(f"/api/{path}", data, **self._headers(headers))

    def post(self, path, data=None, headers=None, multipart=False):
        if multipart:
            return self.client.post(f"/api/{path}", data or {}, **self._headers(headers))
        return self.client.post(f"/api/{path}", json.dumps(data or {}), content_type="application/json",
                                **self._headers(headers))

    def delete(self, path):
        return self.client.delete(f"/api/{path}", **self._headers(None))


def api_for(group: str, username: str) -> Api:
    client = member_of(group, username)
    return Api(client.user)


@pytest.fixture
def maker(sora):
    return api_for(roles.MAKERS, "mia")


@pytest.fixture
def viewer(sora):
    return api_for(roles.VIEWERS, "vic")


def _png(size=(1280, 720)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (20, 120, 200)).save(out, "PNG")
    return out.getvalue()


def test_tokens_are_needed_and_refused_once_revoked_or_expired(maker, sora):
    assert Api().get("videos/").status_code == 401
    assert Api().get("videos/")["WWW-Authenticate"].startswith("Bearer")
    assert Api(raw="sora_not-a-token").get("videos/").status_code == 401
    assert maker.get("videos/").status_code == 200
    token = ApiToken.objects.get(user=maker.user)
    assert token.last_used_at is not None and token.digest != maker.raw and maker.raw not in str(token.__dict__)
    tokens.revoke(token)
    refused = maker.get("videos/")
    assert refused.status_code == 401 and "revoked or expired" in refused.json()["detail"]
    _, raw = tokens.create(maker.user, "short", days=1)
    ApiToken.objects.filter(name="short").update(expires_at="2020-01-01T00:00:00Z")
    assert Api(raw=raw).get("videos/").status_code == 401


def test_a_maker_creates_follows_and_downloads_a_video(maker, sora):
    from ..support import settle

    made = maker.post("videos/", {"prompt": "A red kite over a green park", "size": "1280x720", "seconds": 4})
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["status"] == "pending" and body["owner"] == "mia" and body["estimated_cost"] == "0.4000"
    job = VideoJob.objects.get(uuid=body["id"])
    [job] = settle([job])
    shown = maker.get(f"videos/{job.uuid}/").json()
    assert shown["status"] == "completed" and set(shown["files"]) == {"video", "thumbnail", "spritesheet"}
    video = maker.get(f"videos/{job.uuid}/files/video/")
    assert video.status_code in (200, 302)
    listed = maker.get("videos/", {"q": "kite"}).json()
    assert [v["id"] for v in listed["results"]] == [str(job.uuid)] and "next" in listed
    remix = maker.post(f"videos/{job.uuid}/remix/", {"prompt": "At night"})
    assert remix.status_code == 201 and remix.json()["kind"] == JobKind.REMIX
    extend = maker.post(f"videos/{job.uuid}/extend/", {"prompt": "Then dusk", "seconds": 4})
    assert extend.status_code == 201 and extend.json()["parent"] == str(job.uuid)
    deleted = maker.delete(f"videos/{job.uuid}/")
    assert deleted.status_code == 200 and deleted.json()["status"] == "deleted"


def test_bad_input_is_a_400_with_field_errors_and_no_provider_call(maker, sora):
    cases = [
        ({"size": "1280x720"}, "prompt"),
        ({"prompt": "A kite", "seconds": "soon"}, "seconds"),
        ({"prompt": "A kite", "seconds": 7}, "seconds"),
        ({"prompt": "A kite", "size": "99x99"}, "size"),
        ({"prompt": "A kite", "colour": "red"}, "colour"),
        ({"prompt": "A kite", "model": "gpt-9"}, "model"),
        ({"prompt": "A kite", "extra_params": "seed=1"}, "extra_params"),
        ({"prompt": ""}, "prompt"),
    ]
    for data, field in cases:
        response = maker.post("videos/", data)
        assert response.status_code == 400, (data, response.content)
        assert field in response.json(), (data, response.json())
    bad_image = maker.post("videos/", {"prompt": "A kite", "image": io.BytesIO(b"not an image")}, multipart=True)
    assert bad_image.status_code == 400 and "image" in bad_image.json()
    huge = maker.client.post("/api/videos/", "x" * (3 * 1024 * 1024), content_type="application/json",
                             HTTP_AUTHORIZATION=f"Bearer {maker.raw}")
    assert huge.status_code in (400, 413)
    assert VideoJob.objects.count() == 0 and sora.stats()["requests"]["create"] == 0


def test_images_upload_and_sequences(maker, sora):
    one = maker.post("videos/", {"prompt": "The camera pushes in", "image": _upload("a.png"), "seconds": "4",
                                 "size": "1280x720"}, multipart=True)
    assert one.status_code == 201, one.content
    assert VideoJob.objects.get(uuid=one.json()["id"]).reference_image is not None
    several = maker.post("videos/", {"prompt": "The camera pushes in", "images": [_upload("a.png"), _upload("b.png")],
                                     "size": "1280x720", "seconds": "4"}, multipart=True)
    assert several.status_code == 201 and len(several.json()["videos"]) == 2
    bars = maker.post("videos/", {"prompt": "A kite rises || It loops", "size": "1280x720", "seconds": 4})
    assert bars.status_code == 201 and bars.json()["sequence"]["id"]


def _upload(name):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, _png(), "image/png")


def test_who_may_do_what(maker, viewer, sora):
    assert viewer.get("videos/").status_code == 200
    refused = viewer.post("videos/", {"prompt": "A kite"})
    assert refused.status_code == 403 and "Video makers" in refused.json()["detail"]
    other = VideoJobFactory(done=True, owner=UserFactory(username="someone"), provider="emu")
    assert maker.post(f"videos/{other.uuid}/remix/", {"prompt": "x"}).status_code == 403
    assert maker.delete(f"videos/{other.uuid}/").status_code == 403
    manager = api_for(roles.MANAGERS, "max")
    assert manager.post(f"videos/{other.uuid}/remix/", {"prompt": "At night"}).status_code == 201
    stranger = Api(UserFactory(username="nobody"))
    assert stranger.get("videos/").status_code == 403
    mine = VideoJobFactory(done=True, owner=maker.user, provider="emu")
    assert maker.post(f"videos/{mine.uuid}/approve/").status_code == 403  # makers do not approve
    reviewer = api_for(roles.REVIEWERS, "rex")
    assert reviewer.post(f"videos/{mine.uuid}/approve/").status_code == 409  # not awaiting approval


def test_project_scoping(maker, viewer, sora, settings):
    settings.SORA_VIDEOS = {**settings.SORA_VIDEOS, "VISIBILITY": "projects"}
    secret = Project.objects.create(name="Secret")
    hidden = VideoJobFactory(done=True, project=secret, provider="emu", prompt_text="Secret launch")
    assert viewer.get(f"videos/{hidden.uuid}/").status_code == 404
    assert viewer.get(f"videos/{hidden.uuid}/files/video/").status_code == 404
    assert viewer.get("videos/", {"q": "Secret"}).json()["results"] == []
    secret.members.add(viewer.user)
    assert viewer.get(f"videos/{hidden.uuid}/").status_code == 200
    refused = maker.post("videos/", {"prompt": "In the secret project", "project": "Secret"})
    assert refused.status_code == 400 and "not a member" in refused.json()["project"][0]


def test_budget_and_estimate(maker, sora, settings):
    settings.SORA_VIDEOS = {**settings.SORA_VIDEOS, "USER_MONTHLY_BUDGET": "0.50", "APPROVAL_ABOVE": "0.45"}
    estimate = maker.get("estimate/", {"seconds": 8, "size": "1280x720"}).json()
    assert estimate == {"cost": "0.8000", "currency": "USD", "spendable": "0.50", "fits_budget": False,
                        "needs_approval": True}
    over = maker.post("videos/", {"prompt": "A kite", "seconds": 8, "size": "1280x720"})
    assert over.status_code == 400 and "Over budget" in over.json()["budget"][0]
    assert maker.get("estimate/", {"seconds": 7}).status_code == 400


def test_an_idempotency_key_returns_the_first_job(maker, sora):
    headers = {"Idempotency-Key": "order-42"}
    first = maker.post("videos/", {"prompt": "A kite", "seconds": 4}, headers=headers)
    again = maker.post("videos/", {"prompt": "A kite", "seconds": 4}, headers=headers)
    assert first.status_code == 201 and again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert first.json()["id"] == again.json()["id"] and VideoJob.objects.count() == 1
    other = maker.post("videos/", {"prompt": "Another kite", "seconds": 4}, headers=headers)
    assert other.status_code == 422
    refused = maker.post("videos/", {"prompt": "A kite", "seconds": 7}, headers={"Idempotency-Key": "k2"})
    assert refused.status_code == 400
    retried = maker.post("videos/", {"prompt": "A kite", "seconds": 4}, headers={"Idempotency-Key": "k2"})
    assert retried.status_code == 201  # a refused request does not use its key up


def test_the_schema_validates_and_the_cli_makes_tokens(capsys, sora):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")
    user = UserFactory(username="bot")
    call_command("sora", "token", "create", "bot", "--name", "n8n automation", "--days", "30")
    raw = capsys.readouterr().out.strip()
    assert raw.startswith("sora_") and Api(raw=raw).get("videos/").status_code == 403  # no role yet
    token = ApiToken.objects.get(user=user)
    call_command("sora", "token", "revoke", str(token.pk))
    assert Api(raw=raw).get("videos/").status_code == 401


def test_the_profile_page_makes_and_revokes_tokens(sora):
    client = member_of(roles.MAKERS, "pam")
    page = client.post("/profile/", {"name": "CMS", "days": "90"}).content.decode()
    token = ApiToken.objects.get(user=client.user)
    [raw] = [line for line in page.split('value="')[1:] if line.startswith("sora_")]
    raw = raw.split('"')[0]
    assert Api(raw=raw).get("videos/").status_code == 200
    assert raw not in client.get("/profile/").content.decode()  # shown once
    client.post(f"/profile/tokens/{token.pk}/revoke/")
    assert Api(raw=raw).get("videos/").status_code == 401


def test_an_operator_makes_and_revokes_tokens_in_the_admin(sora):
    boss = UserFactory(username="boss", is_superuser=True, is_staff=True)
    member = UserFactory(username="pat")
    admin = Client()
    admin.force_login(boss)
    page = admin.post("/admin/sora_videos/apitoken/add/", {"user": member.pk, "name": "CMS", "days": "30"})
    raw = page.content.decode().split('readonly value="')[1].split('"')[0]
    token = ApiToken.objects.get(user=member)
    assert raw.startswith("sora_") and token.expires_at is not None and token.digest == tokens.digest(raw)
    admin.post("/admin/sora_videos/apitoken/", {"action": "revoke_tokens", "_selected_action": [token.pk]})
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert admin.get("/admin/sora_videos/webhookendpoint/add/").status_code == 200
    assert admin.get("/admin/sora_videos/webhookdelivery/").status_code == 200
    assert admin.get("/admin/sora_videos/project/add/").status_code == 200


def test_a_stored_reference_image_is_named_by_id_or_url(maker, sora):
    from videos import services

    ref = services.save_reference_image(_png(), user=maker.user)
    by_url = maker.post("videos/", {"prompt": "A kite", "seconds": 4, "size": "1280x720",
                                    "reference_image": f"https://videos.example.com/references/{ref.pk}/"})
    by_id = maker.post("videos/", {"prompt": "A kite", "seconds": 4, "size": "1280x720", "reference_image": ref.pk})
    assert by_url.status_code == by_id.status_code == 201
    assert {VideoJob.objects.get(uuid=r.json()["id"]).reference_image_id for r in (by_url, by_id)} == {ref.pk}
    missing = maker.post("videos/", {"prompt": "A kite", "reference_image": "https://x/references/999999/"})
    assert missing.status_code == 400 and "reference_image" in missing.json()
