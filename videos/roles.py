"""The team's roles as Django groups, so a new member is useful the moment they are added.

``manage.py sora roles`` (and ``bin/start``) creates them; running it again only adds what
is missing, so a site may give a group more permissions without losing them.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from .permissions import APP_LABEL

VIEWERS = "Video viewers"
MAKERS = "Video makers"
MANAGERS = "Video managers"
REVIEWERS = "Video reviewers"

_BROWSE = ("view_videojob", "view_videoasset", "view_sequence", "view_sequenceshot", "view_sequenceasset",
           "view_referenceimage", "view_prompt")
_MAKE = ("submit_videojob", "delete_videojob")

#: Each group and the permissions (codenames of this app) it holds; viewers, makers and managers
#: each include the one before; reviewers browse and decide (add them to makers to make too).
ROLES: dict[str, tuple[str, ...]] = {
    VIEWERS: _BROWSE,
    MAKERS: _BROWSE + _MAKE,
    MANAGERS: _BROWSE + _MAKE + ("manage_videojob",),
    REVIEWERS: _BROWSE + ("approve_videojob",),
}

#: What each group may do, in the words of the docs and the "ask for access" page.
DESCRIPTIONS = {
    VIEWERS: "browse, watch and download the team's videos",
    MAKERS: "also make videos, and remix, edit, extend, re-submit, retry and delete their own",
    MANAGERS: "also act on anyone's videos and see everyone's spend",
    REVIEWERS: "approve or reject, with a reason, the videos that cost more than may be spent without approval",
}


@dataclass
class RoleChange:
    group: str
    created: bool
    added: list[str]


def ensure_roles() -> list[RoleChange]:
    """Create the groups and give each its permissions (idempotent; never removes any)."""
    wanted = {code for codes in ROLES.values() for code in codes}
    found = {p.codename: p for p in Permission.objects.filter(content_type__app_label=APP_LABEL, codename__in=wanted)}
    missing = wanted - set(found)
    if missing:
        raise RuntimeError(f"Permissions {sorted(missing)} do not exist yet: run manage.py migrate first.")
    changes = []
    with transaction.atomic():
        for name, codes in ROLES.items():
            group, created = Group.objects.get_or_create(name=name)
            have = set(group.permissions.filter(codename__in=codes, content_type__app_label=APP_LABEL)
                       .values_list("codename", flat=True))
            added = [code for code in codes if code not in have]
            group.permissions.add(*(found[code] for code in added))
            changes.append(RoleChange(name, created, added))
    return changes
