"""Who sees which videos: with ``VISIBILITY = "projects"`` a person sees the projects they
belong to (as a member or through a group), videos in no project, and their own; managers
and superusers see everything. One rule, applied to every surface that lists or serves
videos: the gallery, its search and JSON, the media views, the admin's changelists.
"""
from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from . import conf, policy
from .exceptions import InvalidRequest
from .models import Project

_CACHE = "_sora_project_ids"


def restricted(user: Any) -> bool:
    """Whether ``user`` sees only some projects."""
    if conf.get("VISIBILITY") != "projects":
        return False
    return not (user.is_authenticated and (user.is_superuser or policy.manages(user)))


def projects_of(user: Any) -> QuerySet:
    """The projects ``user`` belongs to, directly or through a group."""
    if not user.is_authenticated:
        return Project.objects.none()
    return Project.objects.filter(Q(members=user) | Q(member_groups__in=user.groups.all())).distinct()


def project_ids(user: Any) -> list[int]:
    cached = getattr(user, _CACHE, None)
    if cached is None:
        cached = list(projects_of(user).values_list("pk", flat=True))
        setattr(user, _CACHE, cached)
    return cached


def scope(qs: QuerySet, user: Any, path: str = "") -> QuerySet:
    """``qs`` (of jobs, or of rows reaching one by ``path`` such as ``"job__"``) narrowed to what
    ``user`` may see. Sequences have the same ``project`` and ``owner`` fields, so this applies to them too."""
    if not restricted(user):
        return qs
    mine = Q(**{f"{path}project__isnull": True}) | Q(**{f"{path}project__in": project_ids(user)})
    if user.is_authenticated:
        mine |= Q(**{f"{path}owner": user})
    return qs.filter(mine)


def choosable(user: Any) -> QuerySet:
    """The projects ``user`` may put new work in (all of them for managers)."""
    if user is not None and user.is_authenticated and (user.is_superuser or policy.manages(user)):
        return Project.objects.all()
    return projects_of(user) if user is not None else Project.objects.none()


def check_member(user: Any, project: Project | None) -> None:
    """Refuse new work in a project the person does not belong to (the CLI, as operator, may)."""
    if project is None or user is None or not getattr(user, "is_authenticated", False):
        return
    if not choosable(user).filter(pk=project.pk).exists():
        raise InvalidRequest(f"You are not a member of the project {project.name!r}.", field="project")
