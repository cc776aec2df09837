"""``manage.py sora_emulator``: the Videos API emulator, with the same flags as ``python -m videos.emulator``."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from videos.emulator import cli


class Command(BaseCommand):
    help = "Run a local emulator of the OpenAI Videos API (Sora 2) or a compatible server."
    # The emulator needs nothing from the project, so a half-configured one must not stop it.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        cli.add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            config = cli.config_from_options(options)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        # Plain stdout: Django's wrapper would add a second line ending to the "listening" line.
        if cli.run(config, out=sys.stdout) != 0:
            raise CommandError("the emulator could not start")
