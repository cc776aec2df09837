"""factory-boy factories for rows the tests need in a given state without running them.

Rows only: a factory never calls a provider. Tests that need a real video use the emulator
(``tests/sequences/factory.py`` copies one real stitched sequence cheaply).
"""
from __future__ import annotations

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from factory.django import DjangoModelFactory

from videos.models import JobStatus, Prompt, Sequence, SequenceStatus, VideoJob
from videos.permissions import APP_LABEL


class UserFactory(DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"member{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("pw-for-tests")

    @factory.post_generation
    def perms(user, create: bool, codenames: list[str] | None, **kwargs) -> None:  # noqa: N805
        """``UserFactory(perms=["view_videojob"])``: the app's permissions by codename."""
        if create and codenames:
            user.user_permissions.set(Permission.objects.filter(content_type__app_label=APP_LABEL,
                                                                codename__in=codenames))


class PromptFactory(DjangoModelFactory):
    class Meta:
        model = Prompt

    title = factory.Sequence(lambda n: f"Prompt {n}")
    text = "A paper boat on a rain puddle, macro"


class VideoJobFactory(DjangoModelFactory):
    """A job row; ``VideoJobFactory(done=True)`` for a completed one with a remote id."""

    class Meta:
        model = VideoJob

    provider = "emu"
    model = "sora-2"
    size = "1280x720"
    seconds = 4
    prompt_text = "A paper boat on a rain puddle, macro"
    status = JobStatus.PENDING
    estimated_cost = Decimal("0.40")

    class Params:
        done = factory.Trait(status=JobStatus.COMPLETED, progress=100,
                             remote_id=factory.Sequence(lambda n: f"video_factory_{n:05d}"))


class SequenceFactory(DjangoModelFactory):
    class Meta:
        model = Sequence

    provider = "emu"
    model = "sora-2"
    size = "1280x720"
    status = SequenceStatus.RENDERING
    title = factory.Sequence(lambda n: f"Sequence {n}")
