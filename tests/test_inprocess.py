"""The fast tier's in-process provider is the emulator without a socket, not a stand-in:
the real SDK builds the requests, the emulator's routes, dialects and faults answer them."""
from __future__ import annotations

import openai
import pytest

from videos import services
from videos.models import JobStatus

from .inprocess import InProcessEmulator
from .support import settle, sora_settings

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def inproc(settings, tmp_path):
    emu = InProcessEmulator(dialect="openai", generation_time=0.3).start()
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.SORA_VIDEOS = sora_settings(emu)
    yield emu
    emu.stop()


def test_a_job_goes_to_stored_files_with_no_network(inproc):
    assert inproc.base_url.startswith("http://inprocess-") and ".invalid:" in inproc.base_url  # never resolvable
    job = services.create_video("A paper boat on a rain puddle, macro", size="1280x720", seconds=4)
    [job] = settle([job])
    assert job.status == JobStatus.COMPLETED, job.error_message
    assert job.assets.filter(variant="video").get().bytes > 1000
    stats = inproc.stats()
    assert stats["requests"]["create"] == 1 and stats["requests"]["content"] >= 1


def test_connection_faults_reach_the_sdk_as_over_http(inproc):
    client = inproc.client()
    inproc.set_faults([{"endpoint": "create", "fault": "drop_response", "times": 1}])
    with pytest.raises(openai.APIConnectionError):
        client.videos.create(prompt="a cat", size="1280x720", seconds="4")
    assert len(inproc.jobs()) == 1  # the create took effect; only its answer was lost
    inproc.set_faults([{"endpoint": "create", "fault": "http_429", "times": 1, "retry_after": 1}])
    with pytest.raises(openai.RateLimitError):
        client.videos.create(prompt="a cat", size="1280x720", seconds="4")
    assert client.videos.retrieve(inproc.jobs()[0]["id"]).id


def test_the_dialects_answer_in_their_own_shapes():
    emu = InProcessEmulator(dialect="vllm-omni").start()
    try:
        with pytest.raises(openai.BadRequestError, match="Field required"):  # multipart only, FastAPI's list
            emu.client().post("/videos", cast_to=object, body={"prompt": "a cat"})
    finally:
        emu.stop()
