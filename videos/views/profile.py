"""A member's profile page: their API tokens (made here, shown once, revoked here)."""
from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from .. import tokens
from ..exceptions import InvalidRequest
from ..models import ApiToken
from .access import gallery_access
from .pages import render_page


@gallery_access
def profile(request: HttpRequest) -> HttpResponse:
    new_token = ""
    error = ""
    if request.method == "POST":
        days = request.POST.get("days", "")
        try:
            _, new_token = tokens.create(request.user, request.POST.get("name", ""),
                                         days=int(days) if days.isdigit() else None)
        except InvalidRequest as exc:
            error = exc.message
    return render_page(request, "sora_videos/profile.html", {
        "tokens": ApiToken.objects.filter(user=request.user),
        "new_token": new_token, "error": error,
    }, status=400 if error else 200)


@require_POST
@gallery_access
def revoke_token(request: HttpRequest, pk: int) -> HttpResponse:
    token = ApiToken.objects.filter(pk=pk, user=request.user).first()
    if token is None:
        raise Http404("No such token.")
    tokens.revoke(token)
    messages.success(request, f"The token “{token.name}” is revoked: requests with it are refused.")
    return redirect("videos:profile")


__all__ = ["profile", "revoke_token"]
