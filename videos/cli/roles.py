"""``manage.py sora roles``: create the team's groups (see :mod:`videos.roles`)."""
from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError

from .. import roles
from . import EXIT_INVALID
from .console import Console


def roles_command(console: Console, o: dict[str, Any]) -> None:
    try:
        changes = roles.ensure_roles()
    except RuntimeError as exc:
        raise CommandError(str(exc), returncode=EXIT_INVALID) from exc
    for change in changes:
        if change.created:
            state = f"created with {len(change.added)} permissions"
        elif change.added:
            state = f"exists; added {', '.join(change.added)}"
        else:
            state = "exists, up to date"
        console.out(f"{change.group}: {state} ({roles.DESCRIPTIONS[change.group]}).")
    console.out("Add people to a group in the admin (Users → a user → Groups).")
