"""Gallery and detail pages: content, escaping, filters, pagination and query counts."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from videos.filters import PAGE_SIZE
from videos.models import JobKind, JobStatus, VideoJob

pytestmark = pytest.mark.django_db(transaction=True)

CARD = re.compile(r'<article class="card card--(\w+)" data-job="([0-9a-f-]+)"')


def cards(response) -> list[str]:
    return [m.group(2) for m in CARD.finditer(response.content.decode())]


@pytest.fixture
def signed_in(client, viewer):
    client.force_login(viewer)
    return client


def test_gallery_shows_a_completed_video(signed_in, real_job):
    html = signed_in.get(reverse("videos:gallery")).content.decode()
    assert cards_of(html) == [str(real_job.uuid)]
    thumb = real_job.assets.get(variant="thumbnail")
    sprite = real_job.assets.get(variant="spritesheet")
    assert f'src="{reverse("videos:asset", args=[thumb.pk])}"' in html
    assert f'data-sprite="{reverse("videos:asset", args=[sprite.pk])}"' in html
    assert 'data-cols="5"' in html and 'data-frames="10"' in html
    for badge in ("sora-2", "1280×720", "4s"):
        assert badge in html
    assert 'alt="Thumbnail: A paper boat' in html
    assert "Local emulator" in html  # the site says it runs against the emulator
    assert '<main id="main"' in html and 'class="skip-link"' in html
    assert '<label for="id_q"' in html


def cards_of(html: str) -> list[str]:
    return [m.group(2) for m in CARD.finditer(html)]


def test_prompts_with_html_are_escaped(signed_in, sora, viewer):
    from videos import services

    from ..support import settle

    evil = '<script>alert("x")</script><img src=x onerror=alert(1)> & <b>bold</b>'
    job = services.create_video(evil, size="1280x720", seconds=4, user=viewer)
    [job] = settle([job])
    for url in (reverse("videos:gallery"), reverse("videos:detail", args=[job.uuid])):
        html = signed_in.get(url).content.decode()
        assert "<script>alert" not in html
        assert "<img src=x" not in html
        assert "<b>bold</b>" not in html
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    status = signed_in.get(reverse("videos:jobs_status") + f"?ids={job.uuid}&cards=1").json()
    assert "<script>alert" not in status["jobs"][str(job.uuid)]["html"]


def test_in_flight_and_failed_cards(signed_in, real_job, clone_jobs):
    [working] = clone_jobs(real_job, 1, status=JobStatus.IN_PROGRESS, progress=42)
    [failed] = clone_jobs(real_job, 1, status=JobStatus.FAILED, error_code="moderation_blocked",
                          error_message="The provider failed this video (moderation_blocked): no faces.")
    [deleted] = clone_jobs(real_job, 1, status=JobStatus.DELETED)
    html = signed_in.get(reverse("videos:gallery")).content.decode()
    shown = cards_of(html)
    assert str(working.uuid) in shown and str(failed.uuid) in shown
    assert str(deleted.uuid) not in shown
    assert 'aria-valuenow="42"' in html and "width: 42%" in html
    # the card says what happened and what helps, in a member's words; the details are on its page
    assert "The provider refused this prompt" in html and "Edit the prompt and try again on its page" in html
    assert "moderation_blocked" not in html
    assert f'data-poll="{reverse("videos:jobs_status")}"' in html


def test_filters_and_search(signed_in, real_job, clone_jobs, operator):
    clone_jobs(real_job, 3, model="sora-2-pro", size="1792x1024",
               prompt_text=lambda i: f"Pro clip {i}: a neon tram at night")
    clone_jobs(real_job, 2, kind=JobKind.REMIX, parent_id=real_job.pk, owner_id=operator.pk,
               prompt_text=lambda i: f"Remix {i}: the boat is now golden")
    url = reverse("videos:gallery")

    def shown(**params):
        response = signed_in.get(url, params)
        assert response.status_code == 200
        return response

    assert len(cards(shown())) == 6
    assert len(cards(shown(model="sora-2-pro"))) == 3
    assert len(cards(shown(size="1792x1024", model="sora-2-pro"))) == 3
    assert len(cards(shown(kind="remix"))) == 2
    assert len(cards(shown(owner=operator.pk))) == 2
    assert len(cards(shown(q="neon tram"))) == 3
    assert len(cards(shown(q="GOLDEN"))) == 2
    assert len(cards(shown(q="golden neon"))) == 0
    assert len(cards(shown(status="completed", provider="emu"))) == 6
    assert len(cards(shown(status="failed"))) == 0
    days = sorted({timezone.localtime(j.created_at).date() for j in VideoJob.objects.all()})  # one, or two at midnight
    assert len(cards(shown(date_from=days[0].isoformat(), date_to=days[-1].isoformat()))) == 6
    assert len(cards(shown(date_to=(days[0] - dt.timedelta(days=2)).isoformat()))) == 0
    page = shown(q="neon tram", model="sora-2-pro").content.decode()
    assert 'value="neon tram"' in page
    assert '<option value="sora-2-pro" selected>' in page
    assert "Filtered by 2 conditions" in page


def test_bad_filters_get_a_clear_message(signed_in, real_job):
    html = signed_in.get(reverse("videos:gallery"), {
        "date_from": "2025-05-10", "date_to": "2025-05-01", "model": "gpt-9", "after": "garbage!!",
    }).content.decode()
    assert "The end date is before the start date." in html
    assert "Select a valid choice. gpt-9 is not one of the available choices." in html
    assert "That page link is no longer valid; showing the newest videos." in html
    assert cards_of(html) == [str(real_job.uuid)]  # invalid filters are ignored, not half-applied


def test_keyset_pagination_walks_every_video_once_and_keeps_filters(signed_in, real_job, clone_jobs):
    same_time = real_job.created_at - dt.timedelta(minutes=5)
    clone_jobs(real_job, 30, prompt_text=lambda i: f"Tide pool {i}")
    clone_jobs(real_job, 25, prompt_text=lambda i: f"Tide pool tie {i}", created_at=same_time)  # equal stamps
    clone_jobs(real_job, 5, prompt_text=lambda i: f"Desert {i}")
    url = reverse("videos:gallery")
    seen: list[str] = []
    params = {"q": "tide pool"}
    pages = []
    response = signed_in.get(url, params)
    while True:
        html = response.content.decode()
        page_cards = cards_of(html)
        assert 0 < len(page_cards) <= PAGE_SIZE
        pages.append(page_cards)
        seen += page_cards
        nxt = re.search(r'href="\?([^"]+)" rel="next"', html)
        if not nxt:
            break
        query = nxt.group(1).replace("&amp;", "&")
        assert "q=tide+pool" in query  # the search survives pagination
        response = signed_in.get(f"{url}?{query}")
    assert len(seen) == len(set(seen)) == 55
    expected = list(VideoJob.objects.filter(prompt_text__startswith="Tide pool")
                    .order_by("-created_at", "-id").values_list("uuid", flat=True))
    assert seen == [str(u) for u in expected]
    # and back: "Newer" from the last page gives the page before it
    prev = re.search(r'href="\?([^"]+)" rel="prev"', response.content.decode())
    assert prev
    back = signed_in.get(f"{url}?{prev.group(1).replace('&amp;', '&')}")
    assert cards_of(back.content.decode()) == pages[-2]


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
        assert response.status_code == 200
        response.content  # noqa: B018  (render everything)
    return len(ctx.captured_queries)


def test_gallery_query_count_does_not_grow(signed_in, real_job, clone_jobs, operator):
    clone_jobs(real_job, 9, owner_id=operator.pk)
    url = reverse("videos:gallery")
    _count(signed_in, url)  # warm caches (content types, permissions)
    small = _count(signed_in, url)
    filtered_small = _count(signed_in, url + f"?q=clip&owner={operator.pk}&model=sora-2")
    clone_jobs(real_job, 990, start=real_job.created_at - dt.timedelta(hours=1),
               status=lambda i: JobStatus.IN_PROGRESS if i % 7 == 0 else JobStatus.COMPLETED,
               owner_id=operator.pk)
    assert VideoJob.objects.count() == 1000
    large = _count(signed_in, url)
    filtered_large = _count(signed_in, url + f"?q=clip&owner={operator.pk}&model=sora-2")
    assert large == small, (small, large)
    assert filtered_large == filtered_small
    assert small <= 8, small
    # a later page costs the same as the first
    html = signed_in.get(url).content.decode()
    nxt = re.search(r'href="\?([^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    assert _count(signed_in, f"{url}?{nxt}") == large


def test_detail_query_count_does_not_grow(signed_in, real_job, clone_jobs):
    [child] = clone_jobs(real_job, 1, kind=JobKind.REMIX, parent_id=real_job.pk)
    clone_jobs(real_job, 8)
    url = reverse("videos:detail", args=[child.uuid])
    _count(signed_in, url)
    small = _count(signed_in, url)
    # 1,000 videos, 300 of them descendants of the child (a deep chain and a wide fan)
    chain = [child]
    for _ in range(40):
        [nxt] = clone_jobs(real_job, 1, kind=JobKind.EXTEND, parent_id=chain[-1].pk)
        chain.append(nxt)
    clone_jobs(real_job, 259, kind=JobKind.REMIX, parent_id=child.pk)
    clone_jobs(real_job, 691, start=real_job.created_at - dt.timedelta(hours=1))
    assert VideoJob.objects.count() == 1000
    large = _count(signed_in, url)
    assert large == small, (small, large)
    html = signed_in.get(url).content.decode()
    assert "Showing the first 200 descendants." in html
    assert html.count("lineage__item") > 200


def test_detail_page(client, real_job, clone_jobs, operator):
    [remix] = clone_jobs(real_job, 1, kind=JobKind.REMIX, parent_id=real_job.pk,
                         prompt_text="Remix: make the boat golden")
    [extension] = clone_jobs(real_job, 1, kind=JobKind.EXTEND, parent_id=remix.pk,
                             prompt_text="Extension: the boat reaches the sea")
    client.force_login(operator)
    html = client.get(reverse("videos:detail", args=[remix.uuid])).content.decode()
    video = remix.assets.get(variant="video")
    assert f'<video id="player" controls preload="metadata" playsinline src="{reverse("videos:asset", args=[video.pk])}"' in html
    assert "Remix: make the boat golden" in html
    # lineage: parent up (a link), this video, extension down (a link)
    assert reverse("videos:detail", args=[real_job.uuid]) in html
    assert reverse("videos:detail", args=[extension.uuid]) in html
    assert html.index(str(real_job.uuid)) < html.index('aria-current="page"') < html.index(str(extension.uuid))
    for asset in remix.assets.all():
        assert f'{reverse("videos:asset", args=[asset.pk])}?download=1' in html
    for label in ("Model", "Size", "Requested length", "Duration", "Provider", "Estimated cost", "Created",
                  "Completed"):
        assert f"<dt>{label}</dt>" in html
    assert "4.00 s" in html or "4.0" in html
    assert reverse("admin:sora_videos_videojob_change", args=[remix.pk]) in html  # staff: "Open in the admin"
    assert reverse("videos:act", args=[remix.uuid, "delete"]) in html  # the operator may delete anyone's video
    assert reverse("videos:act", args=[remix.uuid, "remix"]) not in html  # but not spend without the permission


def test_detail_without_admin_rights_has_no_admin_links(signed_in, real_job):
    html = signed_in.get(reverse("videos:detail", args=[real_job.uuid])).content.decode()
    assert "/admin/sora_videos/videojob/" not in html
    assert "An original video" in html


def test_detail_of_failed_and_deleted(signed_in, real_job, clone_jobs):
    [failed] = clone_jobs(real_job, 1, status=JobStatus.FAILED, error_code="moderation_blocked",
                          error_message="The provider failed this video (moderation_blocked): no faces.")
    html = signed_in.get(reverse("videos:detail", args=[failed.uuid])).content.decode()
    assert "no faces." in html and 'role="alert"' in html
    assert "Change the prompt or reference image (no real people" in html  # advice from the code, not the message
    [deleted] = clone_jobs(real_job, 1, status=JobStatus.DELETED)
    assert signed_in.get(reverse("videos:detail", args=[deleted.uuid])).status_code == 404


def test_app_mounts_under_any_prefix(client, real_job, viewer, settings):
    settings.ROOT_URLCONF = "tests.gallery.prefixed_urls"
    client.force_login(viewer)
    url = reverse("videos:gallery")
    assert url == "/team/videos/"
    html = client.get(url).content.decode()
    assert "/team/videos/assets/" in html
    assert client.get(reverse("videos:detail", args=[real_job.uuid])).status_code == 200


def test_pages_work_in_a_site_without_base_html(signed_in, real_job, settings):
    """A site with no templates/base.html gets the app's standalone shell, still labelled."""
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": []}]
    provider = {**settings.SORA_VIDEOS["PROVIDERS"]["emu"], "LABEL": "Local emulator"}  # as the site labels it
    settings.SORA_VIDEOS = {**settings.SORA_VIDEOS, "PROVIDERS": {"emu": provider}}
    html = signed_in.get(reverse("videos:gallery")).content.decode()
    assert "Sora Studio" not in html  # the site's header is not there ...
    assert 'class="brand"' in html and "Local emulator" in html  # ... the app's shell is
    assert html.count("Local emulator") == 1  # said once, by the banner
    assert "Sign out" in html and reverse("videos:logout") in html
    assert str(real_job.uuid) in html


def test_detail_of_a_job_in_flight_polls_its_status(signed_in, real_job, clone_jobs):
    [working] = clone_jobs(real_job, 1, status=JobStatus.QUEUED, progress=0)
    html = signed_in.get(reverse("videos:detail", args=[working.uuid])).content.decode()
    assert f'data-status-url="{reverse("videos:job_status", args=[working.uuid])}"' in html
    assert 'role="progressbar"' in html and "<video" not in html
