"""The studio in headless Chromium, as a member who never opens the admin: make a video, watch
it finish, remix and extend it, see a refusal explained, be stopped by the budget before
spending; a viewer sees none of the make controls."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from PIL import Image

from videos import roles
from videos.models import JobKind, JobStatus, Sequence, VideoJob

from ..factories import UserFactory
from .conftest import PASSWORD
from .test_browser import DESKTOP, PHONE, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _member(username: str, group: str):
    roles.ensure_roles()
    user = UserFactory(username=username, password=PASSWORD)
    user.groups.add(Group.objects.get(name=group))
    return user


def _detail(live_server, job) -> str:
    return live_server.url + reverse("videos:detail", args=[job.uuid])


def test_a_member_makes_remixes_and_extends_from_the_gallery(browser, live_server, worker, artifacts_dir):
    mia = _member("mia", roles.MAKERS)
    context, page = sign_in(browser, live_server, username="mia", viewport=DESKTOP)
    page.get_by_role("link", name="New video").click()
    page.get_by_role("textbox", name="Prompt", exact=True).fill("A red kite rises over the dunes at dawn")
    page.wait_for_function("() => document.querySelector('[data-sora-cost]').textContent === '0.40'")
    page.screenshot(path=str(artifacts_dir / "studio-make-desktop.png"), full_page=True)
    page.get_by_role("button", name="Make video").click()
    job = VideoJob.objects.get(owner=mia)
    page.wait_for_url(_detail(live_server, job))
    assert page.get_by_text("Your video is queued").is_visible()
    assert page.locator("[data-progress] [role=progressbar]").count() == 1  # live progress while it is made
    page.wait_for_selector("video#player", timeout=30_000)  # the page follows the job by itself
    page.screenshot(path=str(artifacts_dir / "studio-detail-desktop.png"), full_page=True)

    page.get_by_role("link", name="Remix…").click()
    page.get_by_label("Prompt").fill("The same kite, at night under the stars")
    page.get_by_role("button", name="Remix (0.40 USD)").click()
    remix = VideoJob.objects.get(kind=JobKind.REMIX)
    page.wait_for_url(_detail(live_server, remix))
    assert remix.parent_id == job.pk and remix.owner == mia

    page.goto(_detail(live_server, job))
    page.get_by_role("link", name="Extend…").click()
    page.get_by_label("Prompt").fill("The kite string snaps and it drifts away")
    page.screenshot(path=str(artifacts_dir / "studio-extend-desktop.png"), full_page=True)
    page.get_by_role("button", name="Extend (0.40 USD)").click()
    extension = VideoJob.objects.get(kind=JobKind.EXTEND)
    page.wait_for_url(_detail(live_server, extension))
    assert VideoJob.objects.filter(owner=mia).count() == 3  # one paid create per click
    context.close()


def test_a_refusal_is_explained_and_the_budget_stops_the_next_spend(browser, live_server, worker, settings,
                                                                   artifacts_dir):
    settings.SORA_VIDEOS = {**settings.SORA_VIDEOS, "USER_MONTHLY_BUDGET": "0.50"}
    _member("mia", roles.MAKERS)
    context, page = sign_in(browser, live_server, username="mia", viewport=PHONE)
    page.goto(live_server.url + reverse("videos:create"))
    page.get_by_role("textbox", name="Prompt", exact=True).fill("Pikachu dances in the rain")
    page.get_by_role("button", name="Make video").click()
    job = VideoJob.objects.get()
    page.wait_for_url(_detail(live_server, job))
    page.wait_for_selector("text=The provider refused this prompt", timeout=30_000)
    assert VideoJob.objects.get().status == JobStatus.FAILED
    page.screenshot(path=str(artifacts_dir / "studio-failed-phone.png"), full_page=True)
    assert page.get_by_text("moderation_blocked").count() <= 1  # the code at most once, in the provider's words

    page.get_by_role("link", name="Edit the prompt and try again").click()
    assert page.get_by_role("textbox", name="Prompt", exact=True).input_value() == "Pikachu dances in the rain"
    button = page.get_by_role("button", name="Make video")
    assert button.is_disabled()  # 0.40 of 0.50 is committed; another 0.40 does not fit
    assert page.get_by_text("This costs more than your budget has left").is_visible()
    page.screenshot(path=str(artifacts_dir / "studio-over-budget-phone.png"), full_page=True)
    assert VideoJob.objects.count() == 1
    context.close()


def test_a_member_makes_a_sequence_with_an_image_preview(browser, live_server, worker, artifacts_dir, tmp_path):
    mia = _member("mia", roles.MAKERS)
    frame = tmp_path / "wide.png"
    Image.new("RGB", (1600, 900), (30, 120, 200)).save(frame)
    context, page = sign_in(browser, live_server, username="mia", viewport=DESKTOP)
    page.goto(live_server.url + reverse("videos:create"))
    page.select_option("#id_size", "720x1280")
    page.set_input_files("#id_reference_upload", str(frame))
    page.wait_for_function(
        "() => { const i = document.querySelector('[data-sora-fitted]'); return i && i.complete && i.naturalWidth }")
    assert page.evaluate("document.querySelector('[data-sora-fitted]').naturalWidth") == 720
    assert "1600×900" in page.text_content("[data-sora-reference-note]")
    assert not page.is_visible("#id_reference_upload")  # no "No file chosen" above the preview
    page.get_by_role("button", name="Remove the image").click()
    page.get_by_role("textbox", name="Prompt", exact=True).fill("A lighthouse at dusk || The beam sweeps the fog")
    page.wait_for_function("() => document.querySelector('[data-sora-cost]').textContent === '0.80'")
    assert page.get_by_role("button", name="Make sequence").is_enabled()
    page.screenshot(path=str(artifacts_dir / "studio-sequence-desktop.png"), full_page=True)
    page.get_by_role("button", name="Make sequence").click()
    page.wait_for_url("**/sequences/*/")
    sequence = Sequence.objects.get(owner=mia)
    assert sequence.shots.count() == 2 and VideoJob.objects.filter(owner=mia).count() == 2
    context.close()


def test_a_viewer_sees_no_make_controls(browser, live_server, worker):
    _member("vic", roles.VIEWERS)
    context, page = sign_in(browser, live_server, username="vic", viewport=DESKTOP)
    assert page.get_by_role("link", name="New video").count() == 0
    page.goto(live_server.url + reverse("videos:create"))
    assert page.get_by_role("heading", name="Ask for access").is_visible()
    assert page.get_by_text("Video makers").first.is_visible()
    context.close()
