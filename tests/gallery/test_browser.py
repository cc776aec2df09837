"""The gallery in headless Chromium: sign in, filter, search, scrub, play, and watch progress live."""
from __future__ import annotations

import pytest
from django.urls import reverse

from videos import services, wait
from videos.models import JobStatus

from ..support import sora_settings
from .conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


def sign_in(browser, live_server, username="viewer", **context_options):
    context = browser.new_context(**context_options)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(live_server.url + reverse("videos:gallery"))
    assert "/sign-in/" in page.url  # the gallery asks who you are first
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server.url + reverse("videos:gallery"))
    return context, page


def made(prompt, user, **kwargs):
    job = services.create_video(prompt, size=kwargs.pop("size", "1280x720"), seconds=4, user=user, **kwargs)
    job = wait.wait(job, timeout=30, poll=0.1)
    assert job.status == JobStatus.COMPLETED, job.error_message
    return job


def test_browse_filter_search_scrub_and_play(browser, live_server, worker, viewer, clone_jobs, artifacts_dir):
    boat = made("A paper boat drifts down a rainy street gutter, macro lens", viewer)
    made("A lighthouse on a cliff at dusk, the beam sweeping through fog", viewer, size="720x1280")
    clone_jobs(boat, 3, model="sora-2-pro", size="1792x1024",
               prompt_text=lambda i: f"Pro shot {i}: a neon tram glides through rain at night")
    clone_jobs(boat, 1, status=JobStatus.FAILED, error_code="moderation_blocked",
               error_message="The provider failed this video (moderation_blocked): the prompt names a real person. "
               "Change the prompt and re-submit.", prompt_text="A portrait of a famous actor waving")

    context, page = sign_in(browser, live_server, viewport=DESKTOP)
    cards = page.locator("article.card")
    assert cards.count() == 6
    page.wait_for_function(
        "() => [...document.querySelectorAll('img.card__thumb')].slice(0, 4).every(i => i.complete && i.naturalWidth)"
    )
    assert page.get_by_text("Local emulator").first.is_visible()
    assert page.get_by_text("The provider refused this prompt").is_visible()
    page.screenshot(path=str(artifacts_dir / "gallery-desktop.png"), full_page=True)

    # hovering a card scrubs through its spritesheet: the frame follows the pointer
    card = page.locator(f'article.card[data-job="{boat.uuid}"]')
    box = card.locator(".card__media").bounding_box()
    page.mouse.move(box["x"] + 2, box["y"] + box["height"] / 2)
    page.mouse.move(box["x"] + 5, box["y"] + box["height"] / 2)
    page.wait_for_function(
        "el => el.classList.contains('is-scrubbing') && getComputedStyle(el.querySelector('.scrub')).backgroundImage !== 'none'",
        arg=card.element_handle(),
    )
    first = card.get_attribute("data-frame")
    page.mouse.move(box["x"] + box["width"] - 3, box["y"] + box["height"] / 2)
    page.wait_for_function("el => el.dataset.frame === '9'", arg=card.element_handle())
    assert first == "0"
    page.screenshot(path=str(artifacts_dir / "gallery-scrub.png"), clip={
        "x": box["x"] - 10, "y": box["y"] - 10, "width": box["width"] + 20, "height": box["height"] + 140})
    page.mouse.move(5, 5)

    # filter by model
    page.locator("summary", has_text="Filters").click()
    page.get_by_label("Model").select_option("sora-2-pro")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**model=sora-2-pro**")
    assert cards.count() == 3
    page.screenshot(path=str(artifacts_dir / "gallery-filtered.png"))
    assert "neon tram" in cards.first.inner_text()

    # search (the model filter stays until cleared)
    page.get_by_label("Model").select_option("")
    page.get_by_label("Search prompts").fill("paper boat")
    page.get_by_label("Search prompts").press("Enter")
    page.wait_for_url("**q=paper+boat**")
    assert cards.count() == 1

    # open it and play it
    page.get_by_role("link", name=boat.short_prompt).click()
    page.wait_for_url(f"**{reverse('videos:detail', args=[boat.uuid])}")
    video = page.locator("video#player")
    assert video.get_attribute("preload") == "metadata"
    page.screenshot(path=str(artifacts_dir / "detail-desktop.png"), full_page=True)
    page.evaluate("() => { const v = document.querySelector('video'); v.muted = true; return v.play(); }")
    page.wait_for_function(
        "() => { const v = document.querySelector('video'); return v.readyState >= 2 && v.currentTime > 0.2; }",
        timeout=15_000,
    )
    # seeking needs Range requests
    page.evaluate("() => { const v = document.querySelector('video'); v.pause(); v.currentTime = 3.0; }")
    page.wait_for_function("() => { const v = document.querySelector('video'); return !v.seeking && v.currentTime >= 2.9; }")

    # dark mode follows the system
    dark = browser.new_context(viewport=DESKTOP, color_scheme="dark", storage_state=context.storage_state())
    dark_page = dark.new_page()
    dark_page.goto(live_server.url + reverse("videos:gallery"))
    assert dark_page.evaluate("() => getComputedStyle(document.body).backgroundColor") == "rgb(14, 16, 20)"
    dark_page.wait_for_function(
        "() => [...document.querySelectorAll('img.card__thumb')].slice(0, 4).every(i => i.complete && i.naturalWidth)"
    )
    dark_page.screenshot(path=str(artifacts_dir / "gallery-dark.png"))
    dark.close()

    # a remix with an extension: the lineage tree
    [remix] = clone_jobs(boat, 1, kind="remix", parent_id=boat.pk, prompt_text="Remix: the paper boat is golden")
    clone_jobs(boat, 2, kind="extend", parent_id=remix.pk,
               prompt_text=lambda i: f"Extension {i}: the golden boat reaches the harbour")
    page.goto(live_server.url + reverse("videos:detail", args=[remix.uuid]))
    assert page.locator(".lineage__item").count() == 4
    page.locator("#lineage-title").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts_dir / "detail-lineage.png"), full_page=True)
    context.close()

    # a phone-sized screen
    context, page = sign_in(browser, live_server, viewport=PHONE, is_mobile=True, has_touch=True,
                            device_scale_factor=2)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(artifacts_dir / "gallery-phone.png"))
    page.goto(live_server.url + reverse("videos:detail", args=[boat.uuid]))
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(artifacts_dir / "detail-phone.png"), full_page=True)
    context.close()


def test_progress_bar_reaches_done_without_reloading(browser, live_server, worker, emulators, settings, viewer,
                                                      artifacts_dir):
    slow = emulators.get(generation_time=4)
    settings.SORA_VIDEOS = sora_settings(slow)
    job = services.create_video("Time-lapse of clouds rolling over a mountain ridge", size="1280x720", seconds=4,
                                user=viewer)
    context, page = sign_in(browser, live_server, viewport=DESKTOP)
    page.evaluate("() => { window.__sameDocument = true; }")
    card = page.locator(f'article.card[data-job="{job.uuid}"]')
    assert card.get_attribute("data-active") == "1"
    progress = card.locator("[role=progressbar]")
    page.wait_for_function(
        "el => +el.getAttribute('aria-valuenow') > 0 && +el.getAttribute('aria-valuenow') < 100",
        arg=progress.element_handle(), timeout=15_000,
    )
    page.screenshot(path=str(artifacts_dir / "gallery-progress.png"))
    page.wait_for_selector(f'article.card[data-job="{job.uuid}"][data-status="completed"]', timeout=30_000)
    assert page.evaluate("() => window.__sameDocument") is True  # updated in place, never reloaded
    done = page.locator(f'article.card[data-job="{job.uuid}"]')
    assert done.locator("img.card__thumb").count() == 1
    page.wait_for_function("el => el.complete && el.naturalWidth > 0",
                           arg=done.locator("img.card__thumb").element_handle())
    page.screenshot(path=str(artifacts_dir / "gallery-progress-done.png"))
    context.close()
