"""Who may see the gallery and its files: one permission, checked the same way everywhere.

Pages send an anonymous visitor to the login page and answer 403 to a signed-in user
without the permission; JSON endpoints answer 401/403 with a JSON body instead (a
polling script cannot follow a login redirect). Media views behave like pages, so a
download link opened while signed out leads to the login form, never to the file.
"""
from __future__ import annotations

from functools import wraps
from typing import Any, Callable

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse

from .. import permissions


def can_view(user: Any) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.has_perm(permissions.VIEW))


def gallery_access(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Login required, then the view permission (403 without it)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not can_view(request.user):
            raise PermissionDenied("You need the permission to view videos; ask an administrator.")
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
