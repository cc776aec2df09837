"""Who may see the gallery and its files: one permission, checked the same way everywhere.

Pages send an anonymous visitor to the sign-in page and show a signed-in member without
the permission what to ask for and from whom (403); JSON endpoints answer 401/403 with a
JSON body instead (a polling script cannot follow a login redirect). Media views behave
like pages, so a download link opened while signed out leads to the sign-in form, never
to the file.
"""
from __future__ import annotations

from functools import wraps
from typing import Any, Callable

from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse

from .. import permissions, roles, visibility
from ..models import Sequence, VideoJob
from .account import login_url
from .pages import render_page


def can_view(user: Any) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.has_perm(permissions.VIEW))


def administrators() -> list[str]:
    """Whom to ask for a role: up to three active superusers, by name and e-mail."""
    people = get_user_model().objects.filter(is_superuser=True, is_active=True).order_by("pk")[:3]
    return [" ".join(filter(None, [u.get_full_name() or u.get_username(), f"<{u.email}>" if u.email else ""]))
            for u in people]


def no_access(request: HttpRequest, *, needs: str = roles.VIEWERS, doing: str = "see the team's videos"
              ) -> HttpResponse:
    """403 with what to ask for (the group) and from whom, instead of a bare refusal."""
    return render_page(request, "sora_videos/no_access.html", {
        "needs": needs, "doing": doing, "administrators": administrators(),
        "descriptions": roles.DESCRIPTIONS,
    }, status=403)


def gallery_access(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in, then the view permission (a 403 page saying whom to ask without it)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), login_url())
        if not can_view(request.user):
            return no_access(request)
        return view(request, *args, **kwargs)

    return wrapper


def json_access(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Like :func:`gallery_access`, but answers in JSON."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return JsonResponse({"error": "Sign in to see video status."}, status=401)
        if not can_view(request.user):
            return JsonResponse({"error": "You do not have permission to view videos."}, status=403)
        response = view(request, *args, **kwargs)
        response["Cache-Control"] = "private, no-store"
        return response

    return wrapper


def visible_jobs(request: HttpRequest) -> QuerySet:
    """The jobs the gallery shows this person: not drafts or deleted, and only the projects
    they may see (:mod:`videos.visibility`)."""
    return visibility.scope(VideoJob.objects.visible(), request.user)


def visible_sequence(request: HttpRequest, uuid: Any) -> Sequence:
    """The sequence this person may see, or a 404 (as if it did not exist)."""
    sequence = visibility.scope(Sequence.objects.all(), request.user).filter(uuid=uuid).first()
    if sequence is None:
        raise Http404("No such sequence (it may have been deleted).")
    return sequence
