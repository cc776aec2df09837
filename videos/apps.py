from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured
from django.db.models.signals import post_migrate

from .permissions import APP_LABEL


class VideosConfig(AppConfig):
    name = "videos"
    label = APP_LABEL  # not "videos": a host site may well have an app of that name
    verbose_name = "Sora videos"
    default_auto_field = "django.db.models.BigAutoField"

    def import_models(self) -> None:
        """The models use django-taggit's: say so plainly before its own import error would."""
        if "taggit" not in {config.label for config in self.apps.get_app_configs()}:
            raise ImproperlyConfigured(
                "The videos app tags videos with django-taggit: add \"taggit\" to INSTALLED_APPS (before \"videos\" "
                "or after, either works) and run manage.py migrate."
            )
        super().import_models()

    def ready(self) -> None:
        from . import (
            checks,  # noqa: F401  registers the system checks
            outbound,
            pipeline,
            sequences,
        )
        from .providers import client  # noqa: F401  installs the SDK deprecation filter

        pipeline.connect_receivers()  # a job that reaches "downloading" is queued for its download
        sequences.connect_receivers()  # a shot's job moves its sequence on
        outbound.connect_receivers()  # events for the outbound webhooks

        post_migrate.connect(_after_migrate, sender=self)


def _after_migrate(sender, **kwargs) -> None:  # type: ignore[no-untyped-def]
    from django.apps import apps

    if apps.is_installed("django_q"):
        from .tasks import ensure_schedules

        ensure_schedules()
