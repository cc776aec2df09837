"""The admin's Providers page: what each server can do, who says so, and "Check again"."""
from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.support import sora_settings
from videos import capabilities, conf

from .conftest import staff

pytestmark = pytest.mark.django_db
URL = "admin:sora_videos_providercapability_changelist"


@pytest.fixture
def vllm(settings, emulators, tmp_path):
    emu = emulators.get(dialect="vllm-omni")
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.SORA_VIDEOS = sora_settings(emu, provider={"DIALECT": "vllm-omni", "CAPABILITIES": {"list": False}})
    return emu


def test_the_page_shows_each_answer_with_its_source(vllm, op):
    capabilities.learn(conf.provider("emu"), "variants", False, "a thumbnail request was answered with video/mp4")
    html = op.get(reverse(URL)).content.decode()
    assert "What each provider can do" in html and "dialect vllm-omni" in html
    assert "a thumbnail request was answered with video/mp4" in html  # learned, with its evidence
    assert "pinned in the settings" in html  # list: False in the settings
    assert "vllm-omni default" in html  # remix: the dialect's default
    assert "sk-emulator" not in html and vllm.stats()["requests"]["models"] == 0  # a GET asks nothing


def test_check_again_forgets_and_asks_get_models(vllm, op):
    capabilities.learn(conf.provider("emu"), "variants", False, "a thumbnail request was answered with video/mp4")
    response = op.post(reverse(URL), {"provider": "emu"}, follow=True)
    text = response.content.decode()
    assert "forgot 1 learned answer(s); it serves Wan-AI/Wan2.2-TI2V-5B-Diffusers" in text
    assert "Wan-AI/Wan2.2-TI2V-5B-Diffusers</strong>" in text
    assert capabilities.get(conf.provider("emu"), "variants").source == capabilities.DIALECT
    assert vllm.stats()["requests"]["models"] == 1


def test_viewing_needs_the_permission_and_checking_the_change_permission(vllm):
    nobody = Client()
    nobody.force_login(staff("nobody"))
    assert nobody.get(reverse(URL)).status_code == 403
    viewer = Client()
    viewer.force_login(staff("viewer", "view_providercapability"))
    page = viewer.get(reverse(URL))
    assert page.status_code == 200 and "Check again" not in page.content.decode()
    viewer.post(reverse(URL), {"provider": "emu"})
    assert vllm.stats()["requests"]["models"] == 0
