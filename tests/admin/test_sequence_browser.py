"""Sequences in real headless Chromium: write three shots on the Generate sequence page, drop
one, watch the shots render and the stitch land without touching the page, then find the
stitched video in the gallery."""
from __future__ import annotations

import re
from typing import Any

import pytest

from videos.models import Sequence

from ..support import sora_settings
from .conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def slowish_sora(sora: Any, emulators: Any, settings: Any) -> Any:
    """An emulator that takes 1.5 s per video, so the shots are seen rendering."""
    emu = emulators.get(generation_time=1.5)
    settings.SORA_VIDEOS = sora_settings(emu)
    return emu


def test_generate_watch_and_find_a_sequence(slowish_sora, worker, live_server, browser, operator, artifacts_dir):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server.url}/admin/sora_videos/sequence/add/")
    page.locator("#id_username").press_sequentially("operator")
    page.locator("#id_password").press_sequentially(PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/sora_videos/sequence/add/$"))

    # three rows to start; a fourth on demand; the cost adds up the written shots
    assert page.locator("[data-sora-shot]").count() == 3
    page.click("[data-sora-add-shot]")
    assert page.locator("[data-sora-shot]").count() == 4
    assert page.text_content("[data-sora-shot]:nth-child(4) [data-sora-shot-number]") == "4"
    page.fill("#id_title", "Harbour walk")
    page.select_option("#id_size", "1280x720")
    page.fill("#id_shots-0-prompt", "Wide shot of a harbour at dawn, slow pan right")
    page.fill("#id_shots-1-prompt", "Close-up of a gull on a wooden post")
    page.select_option("#id_shots-1-seconds", "8")
    assert page.text_content("[data-sora-seq-cost]") == "1.20"
    assert "2 shots · 12 s in all" in page.text_content("[data-sora-seq-detail]")
    page.screenshot(path=str(artifacts_dir / "admin-sequence-generate.png"), full_page=True)
    page.click("input[name=_generate]")
    page.wait_for_url(re.compile(r"/admin/sora_videos/sequence/\d+/change/$"))
    sequence = Sequence.objects.get()
    assert sequence.shots.count() == 2
    assert page.is_visible("[data-seq-status-url][data-active]")

    # the page follows the shots and reloads itself once the stitch is stored
    page.wait_for_selector("video#sora-player", timeout=40_000)
    page.wait_for_function("() => { const v = document.querySelector('video#sora-player');"
                           " return v && v.readyState >= 1 && v.duration > 11 }")
    assert abs(page.evaluate("document.querySelector('video#sora-player').duration") - 12) < 0.5
    page.screenshot(path=str(artifacts_dir / "admin-sequence-page.png"), full_page=True)

    # the same session opens the gallery: the sequences tab, the card, the detail page
    page.goto(f"{live_server.url}/sequences/")
    card = page.locator(f'article.card[data-sequence="{sequence.uuid}"]')
    assert "Sequence · 2 shots" in card.text_content()
    page.wait_for_function("() => [...document.querySelectorAll('img.card__thumb')].every(i => i.complete"
                           " && i.naturalWidth)")
    page.screenshot(path=str(artifacts_dir / "gallery-sequences.png"), full_page=True)
    card.locator("a").first.click()
    page.wait_for_url(re.compile(rf"/sequences/{sequence.uuid}/$"))
    page.wait_for_function("() => { const v = document.querySelector('video#player'); return v && v.readyState >= 1 }")
    assert abs(page.evaluate("document.querySelector('video#player').duration") - 12) < 0.5
    assert page.locator(".shot").count() == 2
    page.screenshot(path=str(artifacts_dir / "gallery-sequence-detail.png"), full_page=True)
    assert not errors, errors
    context.close()
