"""The studio in real headless Chromium: log in, generate with a reference image of the
wrong size, watch the progress bar without a reload, play, remix, delete."""
from __future__ import annotations

import re
from typing import Any

import pytest

from videos.models import JobStatus, VideoJob

from ..support import sora_settings
from .conftest import PASSWORD, png

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def slow_sora(sora: Any, emulators: Any, settings: Any) -> Any:
    """An emulator that takes 4 s per video, so the progress bar has time to move."""
    emu = emulators.get(generation_time=4)
    settings.SORA_VIDEOS = sora_settings(emu)
    return emu


def test_generate_watch_play_remix_delete(slow_sora, worker, live_server, browser, operator, artifacts_dir,
                                          tmp_path):
    reference = tmp_path / "wrong-size.png"
    reference.write_bytes(png(640, 480))
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # log in as a person would
    page.goto(f"{live_server.url}/admin/sora_videos/videojob/add/")
    page.locator("#id_username").press_sequentially("operator")
    page.locator("#id_password").press_sequentially(PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/sora_videos/videojob/add/$"))
    assert page.is_visible(".sora-emulator-banner")

    # the choices follow the model; the cost follows the choices
    page.select_option("#id_model", "sora-2-pro")
    assert "1792x1024" in page.eval_on_selector_all("#id_size option", "els => els.map(e => e.value)")
    page.select_option("#id_model", "sora-2")
    assert page.eval_on_selector_all("#id_size option", "els => els.map(e => e.value)") == ["720x1280", "1280x720"]
    page.select_option("#id_size", "1280x720")
    page.select_option("#id_seconds", "8")
    assert page.text_content("[data-sora-cost]") == "0.80"
    page.select_option("#id_seconds", "4")
    assert page.text_content("[data-sora-cost]") == "0.40"

    page.fill("#id_text", "A paper boat drifts across a rain puddle, macro, soft morning light")
    page.set_input_files("#id_reference_upload", str(reference))
    page.wait_for_function(
        "() => { const i = document.querySelector('[data-sora-fitted]'); return i && i.complete && i.naturalWidth > 0 }"
    )
    assert page.evaluate("document.querySelector('[data-sora-fitted]').naturalWidth") == 1280
    assert "640×480" in page.text_content("[data-sora-reference-note]")
    assert not page.is_visible("#id_reference_upload")  # stored: no "No file chosen" above its preview
    page.check("input[name=fit][value=letterbox]")
    page.wait_for_function(
        "() => { const i = document.querySelector('[data-sora-fitted]');"
        " return i.src.includes('letterbox') && i.complete && i.naturalWidth > 0 }")
    page.screenshot(path=str(artifacts_dir / "admin-generate.png"), full_page=True)

    with page.expect_navigation(url=re.compile(r"/admin/sora_videos/videojob/\d+/change/$")) as arrived:
        page.click("input[name=_generate]")
    job = VideoJob.objects.get()
    assert job.reference_fit == "letterbox" and job.reference_image.size == "640x480"
    # as the page arrived: its live panel drops the message once the job moves on, which a
    # worker may already have made it do by the time the DOM is read
    assert "is queued" in arrived.value.text()

    # the progress bar moves and the player appears, all without a reload
    page.evaluate("window.__soraMarker = 'still the same page'")
    page.wait_for_function(
        "() => { const b = document.querySelector('[data-sora-progress]');"
        " const n = b && +b.getAttribute('aria-valuenow'); return n > 0 && n < 100 }", timeout=30_000)
    page.screenshot(path=str(artifacts_dir / "admin-job-progress.png"), full_page=True)
    page.wait_for_selector("video#sora-player", timeout=40_000)
    assert page.locator(".messagelist li.success").count() == 0  # "Job #N is queued" is stale now: gone
    assert page.evaluate("window.__soraMarker") == "still the same page"
    assert page.get_attribute("[data-sora-progress]", "aria-valuenow") == "100"

    played = page.evaluate("""async () => {
        const v = document.querySelector('#sora-player');
        v.muted = true;
        await v.play();
        await new Promise(r => setTimeout(r, 800));
        return {time: v.currentTime, ready: v.readyState};
    }""")
    assert played["time"] > 0 or played["ready"] >= 2, played
    page.screenshot(path=str(artifacts_dir / "admin-job-completed.png"), full_page=True)

    # remix: the confirmation page asks for the change
    page.click("button[value=remix_jobs]")
    page.wait_for_selector("#sora-action-form textarea[name=prompt]")
    page.fill("textarea[name=prompt]", "Make it night, with a lantern on the boat")
    page.screenshot(path=str(artifacts_dir / "admin-remix-confirm.png"), full_page=True)
    page.click("#sora-action-form input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/sora_videos/videojob/\d+/change/$"))
    remix = VideoJob.objects.exclude(pk=job.pk).get()
    assert page.url.endswith(f"/{remix.pk}/change/")
    assert remix.parent_id == job.pk and remix.kind == "remix"
    page.wait_for_selector("video#sora-player", timeout=40_000)
    assert f"#{job.pk}" in page.text_content(".sora-lineage")
    page.screenshot(path=str(artifacts_dir / "admin-remix-completed.png"), full_page=True)

    # delete: confirmation, then gone at the provider and here
    page.click("a.sora-danger")
    page.wait_for_selector("input[value='Yes, delete']")
    page.screenshot(path=str(artifacts_dir / "admin-delete-confirm.png"), full_page=True)
    page.click("input[value='Yes, delete']")
    page.wait_for_url(re.compile(r"/admin/sora_videos/videojob/$"))
    assert "deleted at the provider and here" in page.text_content(".messagelist")
    page.screenshot(path=str(artifacts_dir / "admin-changelist.png"), full_page=True)
    remix.refresh_from_db()
    assert remix.status == JobStatus.DELETED and not remix.assets.exists()
    assert slow_sora.stats()["requests"]["delete"] == 1
    assert not errors, errors
    context.close()


def test_bulk_generate_and_reference_pages(sora, live_server, browser, operator, artifacts_dir):
    """The prompts' Generate confirmation narrows choices and multiplies the cost; the reference
    image page shows every fitted preview."""
    from videos import services
    from videos.models import Prompt

    for title, text in (("Kite", "A red kite over a green park"), ("Boat", "A paper boat on a puddle"),
                        ("Lighthouse", "A lighthouse at dusk")):
        Prompt.objects.create(title=title, text=text, owner=operator)
    ref = services.save_reference_image(png(640, 480), user=operator)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server.url}/admin/login/?next=/admin/sora_videos/prompt/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/sora_videos/prompt/$"))
    page.check("#action-toggle")
    page.select_option("select[name=action]", "generate_from_prompts")
    page.click("button[name=index]")
    page.wait_for_selector("#sora-action-form")
    page.select_option("#id_model", "sora-2-pro")
    page.select_option("#id_size", "1792x1024")
    page.select_option("#id_seconds", "8")
    assert page.text_content("[data-sora-cost]") == "12.00"  # 3 × 8 s × 0.50
    page.screenshot(path=str(artifacts_dir / "admin-prompts-generate.png"), full_page=True)
    page.click("#sora-action-form input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/sora_videos/prompt/$"))
    assert page.text_content(".messagelist").count("queued as job") == 3

    page.goto(f"{live_server.url}/admin/sora_videos/referenceimage/{ref.pk}/change/")
    page.wait_for_function("() => [...document.querySelectorAll('.sora-fit img')].every(i => i.complete"
                           " && i.naturalWidth > 0)")
    assert page.locator(".sora-fit img").count() == 8
    page.screenshot(path=str(artifacts_dir / "admin-reference-image.png"), full_page=True)
    page.goto(f"{live_server.url}/admin/sora_videos/videojob/")
    page.screenshot(path=str(artifacts_dir / "admin-changelist-queued.png"), full_page=True)

    # the Generate page says what is wrong, next to the field, and keeps the choices
    page.goto(f"{live_server.url}/admin/sora_videos/videojob/add/?reference_image={ref.pk}")
    assert not page.is_visible(".field-seed")  # sora-2 takes no seed: the row is hidden
    page.select_option("#id_seconds", "12")
    page.click("input[name=_generate]")
    page.wait_for_selector(".errornote")
    assert "The prompt is empty" in page.text_content(".field-text .errorlist")
    assert page.input_value("#id_seconds") == "12"
    assert page.get_attribute("[data-sora-reference]", "data-ref-id") == str(ref.pk)
    page.screenshot(path=str(artifacts_dir / "admin-generate-error.png"), full_page=True)
    assert not errors, errors
    context.close()
