"""The product end to end through a real LiteLLM proxy (``litellm[proxy]``) to an OpenAI-style backend.

What the proxy cannot do (list, DELETE, variants) is asserted as what the product tells
the user.
"""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from videos import capabilities, conf, services
from videos.models import JobStatus

from ..cli.helpers import sora
from ..support import settle

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("litellm")]

def _backend_id(remote_id: str) -> str:
    fields = dict(part.split(":", 1) for part in base64.b64decode(remote_id[6:]).decode()[8:].split(";"))
    return fields["video_id"]


def test_text_to_video(through_litellm):
    [job] = settle([services.create_video("A paper lantern over a dark lake", seconds=4)])
    assert job.status == JobStatus.COMPLETED, job.error_message
    assert {asset.variant for asset in job.assets.all()} == {"video", "thumbnail", "spritesheet"}
    assert job.assets.get(variant="video").content_type == "video/mp4"
    backend = through_litellm
    assert [j["emulator"]["backend_id"] for j in backend.jobs()] == [_backend_id(job.remote_id)]
    assert backend.stats()["jobs_created"] == 1


def test_image_to_video(through_litellm):
    image = io.BytesIO()
    Image.new("RGB", (1280, 720), (20, 140, 200)).save(image, format="PNG")
    [job] = settle([services.create_video("The lake at dawn", size="1280x720", reference_image=image.getvalue())])
    assert job.status == JobStatus.COMPLETED, job.error_message
    assert through_litellm.stats()["jobs_created"] == 1


def test_remix(through_litellm):
    [parent] = settle([services.create_video("A lantern", seconds=4)])
    [child] = settle([services.remix(parent, "The lantern, now blue")])
    assert child.status == JobStatus.COMPLETED, child.error_message
    assert child.parent_id == parent.pk
    assert through_litellm.stats()["jobs_created"] == 2


@pytest.mark.parametrize("action", ["edit", "extend"])
def test_edit_and_extend(through_litellm, action):
    [parent] = settle([services.create_video("A lantern", seconds=4)])
    derived = services.edit(parent, "Make it snow") if action == "edit" else services.extend(parent, "More", seconds=4)
    [derived] = settle([derived])
    assert derived.status == JobStatus.COMPLETED, derived.error_message


def test_one_mp4_transfer_per_video(through_litellm):
    [job] = settle([services.create_video("A lantern", seconds=4)])
    assert job.status == JobStatus.COMPLETED
    assert through_litellm.stats()["requests"]["content"] == 1  # ?variant= is dropped: previews come from it
    assert {a.content_type for a in job.assets.exclude(variant="video")} == {"image/webp", "image/jpeg"}


def test_delete_says_the_remote_copy_stays(through_litellm):
    [job] = settle([services.create_video("A lantern", seconds=4)])
    job = services.delete(job)  # LiteLLM does not route DELETE: nothing is sent, our copy goes
    assert job.status == JobStatus.DELETED and not job.assets.exists()
    assert "cannot delete videos" in job.remote_note and "stays there until the server drops it" in job.remote_note
    assert job.remote_note in job.events.order_by("-pk").first().message


def test_sync_says_listing_does_not_work_through_the_proxy(through_litellm):
    result = sora("sync")
    assert result.code != 0
    assert "cannot list its videos" in result.err and "still tracked one by one" in result.err


def test_a_provider_set_up_as_openai_learns_what_the_proxy_cannot_do(through_litellm, settings):
    """Nothing assumed: DIALECT openai through the proxy; its answers teach the product."""
    settings.SORA_VIDEOS["PROVIDERS"]["emu"]["DIALECT"] = "openai"
    settings.SORA_VIDEOS = dict(settings.SORA_VIDEOS)
    backend = through_litellm
    [first] = settle([services.create_video("A lantern", seconds=4)])
    assert first.status == JobStatus.COMPLETED, first.error_message
    assert capabilities.supports(conf.provider("emu"), "variants") is False  # the thumbnail came back an MP4
    assert all(a.derived for a in first.assets.exclude(variant="video"))
    before = backend.stats()["requests"]["content"]
    [second] = settle([services.create_video("A second lantern", seconds=4)])
    assert backend.stats()["requests"]["content"] == before + 1  # one transfer from now on

    second = services.delete(second)
    assert "does not delete videos (it answered 405: Method Not Allowed)" in second.remote_note
    assert capabilities.supports(conf.provider("emu"), "delete") is False
    result = sora("sync")
    assert result.code != 0 and "api.openai.com" in result.err and "Error code" not in result.err
    assert capabilities.get(conf.provider("emu"), "list").source == capabilities.LEARNED
