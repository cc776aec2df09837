"""Review in headless Chromium: a reviewer approves an expensive video (it is then made) and
rejects another with a reason the maker reads; a share link plays signed out and is a 404
once revoked."""
from __future__ import annotations

import pytest
from django.urls import reverse

from videos import roles, services
from videos.models import JobStatus, Project, ShareLink, VideoJob

from .test_browser import DESKTOP, PHONE, made, sign_in
from .test_studio_browser import _member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_reviewer_approves_one_and_rejects_another(browser, live_server, worker, settings, artifacts_dir):
    settings.SORA_VIDEOS = {**settings.SORA_VIDEOS, "APPROVAL_ABOVE": "0.50"}
    mia = _member("mia", roles.MAKERS)
    _member("rex", roles.REVIEWERS)
    costly = services.create_video("A long pan over a harbour at dawn", seconds=8, size="1280x720", user=mia)
    other = services.create_video("A long pan over a desert at noon", seconds=8, size="1280x720", user=mia)
    assert {costly.status, other.status} == {JobStatus.AWAITING_APPROVAL}

    context, page = sign_in(browser, live_server, username="rex", viewport=DESKTOP)
    assert page.locator(f'article.card[data-job="{costly.uuid}"]').get_by_text("Awaiting approval").is_visible()
    page.goto(live_server.url + reverse("videos:detail", args=[costly.uuid]))
    page.get_by_role("link", name="Approve…").click()
    assert page.get_by_text("It costs 0.80 USD").is_visible()
    page.screenshot(path=str(artifacts_dir / "review-approve-desktop.png"), full_page=True)
    page.get_by_role("button", name="Approve and make it").click()
    page.wait_for_selector("video#player", timeout=30_000)  # approved, made, stored: the page followed it

    page.goto(live_server.url + reverse("videos:act", args=[other.uuid, "reject"]))
    page.get_by_label("Reason").fill("Make it 4 seconds: this is a teaser.")
    page.get_by_role("button", name="Reject").click()
    page.wait_for_url(live_server.url + reverse("videos:detail", args=[other.uuid]))
    context.close()
    assert VideoJob.objects.get(pk=other.pk).status == JobStatus.FAILED

    context, page = sign_in(browser, live_server, username="mia", viewport=PHONE)
    page.goto(live_server.url + reverse("videos:detail", args=[other.uuid]))
    assert page.get_by_text("A reviewer did not approve this video").is_visible()
    assert page.get_by_text("Make it 4 seconds: this is a teaser.").is_visible()
    page.screenshot(path=str(artifacts_dir / "review-rejected-phone.png"), full_page=True)
    context.close()


def test_a_share_link_plays_signed_out_until_revoked(browser, live_server, worker, artifacts_dir):
    mia = _member("mia", roles.MAKERS)
    job = made("A paper boat drifts down a rainy street gutter", mia)
    context, page = sign_in(browser, live_server, username="mia", viewport=DESKTOP)
    page.goto(live_server.url + reverse("videos:detail", args=[job.uuid]))
    page.get_by_role("button", name="Make a share link").click()
    link = ShareLink.objects.get()
    url = live_server.url + reverse("videos:share", args=[link.token])
    assert page.get_by_label("Share link").input_value() == url

    stranger = browser.new_context(viewport=PHONE)  # nobody signed in
    public = stranger.new_page()
    public.goto(url)
    public.wait_for_function("() => { const v = document.querySelector('video'); return v && v.readyState >= 1 }")
    assert public.evaluate("document.querySelector('video').duration") > 3
    assert public.get_by_role("link", name="Download the video (MP4)").is_visible()
    public.screenshot(path=str(artifacts_dir / "share-page-phone.png"), full_page=True)

    page.get_by_role("button", name="Revoke").click()
    page.wait_for_load_state()
    assert public.goto(url).status == 404
    stranger.close()
    context.close()


def test_comments_tags_and_filters_then_project_scoping(browser, live_server, worker, settings, artifacts_dir):
    mia = _member("mia", roles.MAKERS)
    boat = made("A paper boat drifts down a rainy street gutter", mia)
    kite = made("A red kite over a green park", mia)
    context, page = sign_in(browser, live_server, username="mia", viewport=DESKTOP)
    page.goto(live_server.url + reverse("videos:detail", args=[boat.uuid]))
    page.get_by_label("Add a comment").fill("Lovely light; can we get a vertical cut?")
    page.get_by_role("button", name="Comment", exact=True).click()
    assert page.locator(".comment__text").get_by_text("Lovely light; can we get a vertical cut?").is_visible()
    page.get_by_label("Tags (comma separated)").fill("teaser, rain")
    page.get_by_role("button", name="Save tags").click()
    page.get_by_role("button", name="4 stars").click()
    page.get_by_role("button", name="♡ Add to favourites").click()
    assert page.get_by_role("button", name="♥ Favourite").is_visible()
    page.screenshot(path=str(artifacts_dir / "review-panel-desktop.png"), full_page=True)

    page.goto(live_server.url + reverse("videos:gallery"))
    page.get_by_text("Filters").click()
    page.get_by_label("Tag").fill("TEASER")
    page.get_by_label("Only my favourites").check()
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**tag=TEASER**")
    assert page.locator(f'article.card[data-job="{boat.uuid}"]').count() == 1
    assert page.locator(f'article.card[data-job="{kite.uuid}"]').count() == 0
    context.close()

    settings.SORA_VIDEOS = {**settings.SORA_VIDEOS, "VISIBILITY": "projects"}
    secret = Project.objects.create(name="Secret")
    VideoJob.objects.filter(pk=kite.pk).update(project=secret)
    _member("vic", roles.VIEWERS)
    context, page = sign_in(browser, live_server, username="vic", viewport=PHONE)
    assert page.locator(f'article.card[data-job="{boat.uuid}"]').count() == 1
    assert page.locator(f'article.card[data-job="{kite.uuid}"]').count() == 0
    assert page.goto(live_server.url + reverse("videos:detail", args=[kite.uuid])).status == 404
    asset = kite.assets.get(variant="video")
    assert page.goto(live_server.url + reverse("videos:asset", args=[asset.pk])).status == 404
    page.goto(live_server.url + reverse("videos:gallery") + "?q=kite")  # search finds nothing of it
    assert page.locator("article.card").count() == 0
    assert page.goto(live_server.url + reverse("videos:job_status", args=[kite.uuid])).status == 404
    listing = page.goto(live_server.url + reverse("videos:jobs_status") + f"?ids={kite.uuid},{boat.uuid}").json()
    assert str(kite.uuid) not in listing["jobs"] and str(boat.uuid) in listing["jobs"]
    context.close()
