"""Fixtures for the admin tests: people with and without the spending permission, images, jobs."""
from __future__ import annotations

import io
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from PIL import Image

from videos.models import VideoJob

from ..factories import UserFactory, VideoJobFactory

PASSWORD = "s3cret-Passw0rd"


def png(width: int = 640, height: int = 480, color: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    """A real PNG with a visible shape, so crops and letterboxes differ."""
    img = Image.new("RGB", (width, height), color)
    for x in range(width // 4, width // 2):
        for y in range(height // 4, height // 2):
            img.putpixel((x, y), (240, 240, 240))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def staff(username: str, *codenames: str) -> User:
    user = UserFactory(username=username, password=PASSWORD, is_staff=True, perms=list(codenames))
    return User.objects.get(pk=user.pk)  # fresh: no cached permissions


ALL_VIDEOS = [
    f"{verb}_{model}" for verb in ("view", "add", "change", "delete")
    for model in ("videojob", "prompt", "referenceimage", "videoasset", "webhookevent", "providercapability")
] + ["submit_videojob", "approve_videojob"]


@pytest.fixture
def operator(db: Any) -> User:
    """Everything on videos, including spending money."""
    return staff("operator", *ALL_VIDEOS)


@pytest.fixture
def watcher(db: Any) -> User:
    """May look, refresh and delete, but not spend (no submit_videojob) nor approve."""
    return staff("watcher", *[c for c in ALL_VIDEOS if c not in ("submit_videojob", "approve_videojob")])


@pytest.fixture
def op(operator: User) -> Client:
    client = Client()
    client.force_login(operator)
    return client


@pytest.fixture
def wc(watcher: User) -> Client:
    client = Client()
    client.force_login(watcher)
    return client


def make_job(**fields: Any) -> VideoJob:
    """A job row in any state, written directly (for states the emulator would take long to reach)."""
    return VideoJobFactory(**fields)


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context and "messages" in response.context \
        else []


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    """Hashing with PBKDF2 costs ~0.3 s per user; these tests are not about passwords."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
