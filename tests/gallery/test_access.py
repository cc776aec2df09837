"""Nobody without the permission sees a page, a status or a byte of media."""
from __future__ import annotations

import pytest
from django.urls import reverse

from ..profile_checks import assert_served

pytestmark = pytest.mark.django_db(transaction=True)


MEDIA = ("video", "download", "thumbnail")


def urls_for(job):
    video = job.assets.get(variant="video")
    thumb = job.assets.get(variant="thumbnail")
    return {
        "gallery": reverse("videos:gallery"),
        "detail": reverse("videos:detail", args=[job.uuid]),
        "video": reverse("videos:asset", args=[video.pk]),
        "download": reverse("videos:asset", args=[video.pk]) + "?download=1",
        "thumbnail": reverse("videos:asset", args=[thumb.pk]),
    }


def json_urls_for(job):
    return {
        "status": reverse("videos:job_status", args=[job.uuid]),
        "batch": reverse("videos:jobs_status") + f"?ids={job.uuid}",
    }


def test_anonymous_gets_the_login_page_and_no_media(client, real_job):
    for name, url in urls_for(real_job).items():
        response = client.get(url)
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("videos:login") + "?next="), name
        assert not getattr(response, "streaming", False), name
    for name, url in json_urls_for(real_job).items():
        response = client.get(url)
        assert response.status_code == 401, name
        assert "Sign in" in response.json()["error"]


def test_signed_in_without_permission_is_refused(client, real_job, stranger):
    client.force_login(stranger)
    for name, url in urls_for(real_job).items():
        response = client.get(url)
        assert response.status_code == 403, name
        assert not getattr(response, "streaming", False), name
        assert b"ftyp" not in response.content and b"RIFF" not in response.content
    for name, url in json_urls_for(real_job).items():
        response = client.get(url)
        assert response.status_code == 403, name
        assert "permission" in response.json()["error"]


def test_a_viewer_sees_everything(client, real_job, viewer):
    client.force_login(viewer)
    for name, url in urls_for(real_job).items():
        response = client.get(url)
        if name in MEDIA:
            assert_served(response)  # streamed, or a signed redirect on S3
        else:
            assert response.status_code == 200, name
    for name, url in json_urls_for(real_job).items():
        assert client.get(url).status_code == 200, name


def test_login_form_leads_back_to_the_gallery(client, real_job, viewer):
    from .conftest import PASSWORD

    gallery = reverse("videos:gallery")
    login = client.get(gallery, follow=True)
    assert login.status_code == 200
    assert b'name="password"' in login.content
    response = client.post(reverse("videos:login"), {"username": "viewer", "password": PASSWORD, "next": gallery})
    assert response.status_code == 302 and response["Location"] == gallery
    page = client.get(gallery)
    assert page.status_code == 200
    assert real_job.short_prompt.encode() in page.content


def test_media_urls_never_point_at_media_url(client, real_job, viewer, settings):
    """Pages link files through the permission-checked view, never the storage's public URL."""
    client.force_login(viewer)
    for url in (reverse("videos:gallery"), reverse("videos:detail", args=[real_job.uuid])):
        html = client.get(url).content.decode()
        assert settings.MEDIA_URL not in html
        assert "/assets/" in html


def test_secrets_never_reach_the_html(client, real_job, viewer, monkeypatch, sora):
    secret = "sk-test-never-show-this-4f1c"
    monkeypatch.setenv("SORA_TEST_API_KEY", secret)
    client.force_login(viewer)
    for url in (reverse("videos:gallery"), reverse("videos:detail", args=[real_job.uuid]),
                reverse("videos:job_status", args=[real_job.uuid])):
        body = client.get(url).content.decode()
        assert secret not in body
        assert "SORA_TEST_API_KEY" not in body
