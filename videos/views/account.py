"""The app's own sign-in and sign-out, so the gallery works in a site that has neither.

A host site that sets ``LOGIN_URL`` keeps its own sign-in; otherwise the gallery sends
people here (under the app's URLs). Staff and members sign in the same way.
"""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.conf.global_settings import LOGIN_URL as DJANGO_DEFAULT_LOGIN_URL
from django.contrib.auth import logout
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, resolve_url
from django.urls import reverse
from django.views.decorators.http import require_POST

from .pages import render_page


def login_url() -> str:
    """Where signing in happens: the site's ``LOGIN_URL`` if it set one, else the app's page."""
    if settings.LOGIN_URL and settings.LOGIN_URL != DJANGO_DEFAULT_LOGIN_URL:
        return resolve_url(settings.LOGIN_URL)
    return reverse("videos:login")


class SignInView(LoginView):
    template_name = "sora_videos/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        return resolve_url(settings.LOGIN_REDIRECT_URL) if settings.LOGIN_REDIRECT_URL != "/accounts/profile/" \
            else reverse("videos:gallery")

    def render_to_response(self, context: dict[str, Any], **kwargs: Any) -> HttpResponse:
        return render_page(self.request, self.template_name, context, status=kwargs.get("status", 200))


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect(f"{reverse('videos:login')}?signed_out=1")
