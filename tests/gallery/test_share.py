"""Share links: a stored video opened signed out by whoever has the link, until it expires or is
revoked (then a plain 404); counted views; made from the video's page or the CLI; files served
as the gallery serves them (streamed locally, a short-lived signed URL on S3)."""
from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from videos import review, sharing
from videos.exceptions import InvalidRequest
from videos.models import JobStatus, ShareLink

from ..profile_checks import assert_served, disposition, media_body

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def owner_client(real_job):
    client = Client()
    client.force_login(real_job.owner)
    return client


def _make_link(client, job, expires="7d") -> str:
    response = client.post(reverse("videos:share_create", args=[job.uuid]), {"expires": expires}, follow=True)
    page = response.content.decode()
    [url] = re.findall(r"Share link made, valid until [^:]+:\d\d \w+: (http://testserver/s/[\w-]+/)", page)
    return url.removeprefix("http://testserver")


def test_a_share_link_plays_signed_out_and_counts_views(owner_client, real_job):
    path = _make_link(owner_client, real_job)
    link = ShareLink.objects.get()
    assert len(link.token) >= 40 and link.created_by == real_job.owner
    assert dt.timedelta(days=6, hours=23) < link.expires_at - timezone.now() <= dt.timedelta(days=7)
    stranger = Client()  # signed out
    page = stranger.get(path)
    html = page.content.decode()
    assert page.status_code == 200 and page["X-Robots-Tag"] == "noindex, nofollow"
    video_url = reverse("videos:share_item_file", args=[link.token, real_job.uuid, "video"])
    assert f'src="{video_url}"' in html and f'href="{video_url}?download=1"' in html
    assert "Sign out" not in html and f'href="{reverse("videos:gallery")}"' not in html  # nothing else of the site
    stranger.get(path)
    link.refresh_from_db()
    assert link.views == 2
    assert_served(stranger.get(video_url))
    with real_job.assets.get(variant="video").file.open("rb") as fh:
        assert media_body(stranger.get(video_url)) == fh.read()
    assert "attachment" in disposition(stranger.get(video_url + "?download=1"))
    detail = owner_client.get(reverse("videos:detail", args=[real_job.uuid])).content.decode()
    assert link.token in detail and "2 views" in detail


def test_revoked_expired_and_unknown_links_are_a_plain_404(owner_client, real_job):
    path = _make_link(owner_client, real_job)
    link = ShareLink.objects.get()
    stranger = Client()
    assert stranger.get(path).status_code == 200
    owner_client.post(reverse("videos:share_revoke", args=[link.pk]))
    assert stranger.get(path).status_code == 404
    assert stranger.get(reverse("videos:share_file", args=[link.token, "video"])).status_code == 404
    second = sharing.create(real_job, user=real_job.owner, expires="1d")
    ShareLink.objects.filter(pk=second.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert stranger.get(reverse("videos:share", args=[second.token])).status_code == 404
    assert stranger.get(reverse("videos:share", args=["not-a-token"])).status_code == 404
    third = sharing.create(real_job, user=real_job.owner)
    type(real_job).objects.filter(pk=real_job.pk).update(status=JobStatus.DELETED)
    assert stranger.get(reverse("videos:share", args=[third.token])).status_code == 404


def test_who_may_share_and_for_how_long(owner_client, real_job, clone_jobs, django_user_model):
    with pytest.raises(InvalidRequest, match="from 1 minute to 90 days"):
        sharing.create(real_job, expires="91d")
    with pytest.raises(InvalidRequest, match="is not a length of time"):
        sharing.parse_expiry("soon")
    [working] = clone_jobs(real_job, 1, status=JobStatus.IN_PROGRESS, stored_at=None)
    response = owner_client.post(reverse("videos:share_create", args=[working.uuid]), follow=True)
    assert "Not shared: Only a completed, stored video can be shared" in response.content.decode()
    other = django_user_model.objects.create_user("other", password="pw")
    other.user_permissions.add(*Permission.objects.filter(codename="view_videojob"))
    client = Client()
    client.force_login(other)
    page = client.get(reverse("videos:detail", args=[real_job.uuid])).content.decode()
    assert "Make a share link" not in page  # someone else's video
    client.post(reverse("videos:share_create", args=[real_job.uuid]))
    assert not ShareLink.objects.exists()


def test_the_cli_prints_a_share_link(real_job, capsys):
    call_command("sora", "share", str(real_job.pk), "--expires", "12h", "--url", "https://videos.example.com/")
    out = capsys.readouterr().out.strip()
    link = ShareLink.objects.get()
    assert out == f"https://videos.example.com{reverse('videos:share', args=[link.token])}"
    assert dt.timedelta(hours=11) < link.expires_at - timezone.now() <= dt.timedelta(hours=12)


def test_a_collection_is_shared_and_exported_from_its_page(owner_client, real_job, clone_jobs):
    [other] = clone_jobs(real_job, 1, prompt_text="A second clip", stored_at=real_job.stored_at)
    collection = review.collect(real_job, real_job.owner, "Winter campaign")
    review.collect(other, real_job.owner, "Winter campaign")
    page = owner_client.get(reverse("videos:gallery"), {"collection": collection.pk}).content.decode()
    assert "Collection “Winter campaign”" in page and reverse("videos:collection_export", args=[collection.pk]) in page
    response = owner_client.post(reverse("videos:collection_share", args=[collection.pk]), {"expires": "1d"})
    link = ShareLink.objects.get(collection=collection)
    assert response.status_code == 302 and link.job is None
    public = Client().get(reverse("videos:share", args=[link.token])).content.decode()
    assert "Winter campaign" in public and public.count("<video ") == 2
    assert_served(Client().get(reverse("videos:share_item_file", args=[link.token, other.uuid, "video"])))
    archive = owner_client.get(reverse("videos:collection_export", args=[collection.pk]))
    names = zipfile.ZipFile(io.BytesIO(b"".join(archive.streaming_content))).namelist()
    assert sum(n.endswith("provenance.json") for n in names) == 2
    sharing.revoke(link)
    assert Client().get(reverse("videos:share", args=[link.token])).status_code == 404
