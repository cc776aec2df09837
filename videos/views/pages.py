"""Rendering every gallery page: the site's ``base.html`` (or the app's shell) and the context
each page needs, so views only gather their own data."""
from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import select_template

from .. import budgets, conf, policy
from ..context_processors import sora as sora_context

#: How often (ms) the pages poll the status endpoints while something is in flight.
POLL_MS = 2000


def site_base() -> Any:
    """The site's ``base.html`` when it has one, else the app's standalone shell."""
    return select_template(["base.html", "sora_videos/standalone_base.html"])


def spend_of(request: HttpRequest) -> list[budgets.Spend]:
    """The member's spend this month (:func:`videos.budgets.summary`), read once per request."""
    if not hasattr(request, "_sora_spend"):
        request._sora_spend = budgets.summary(request.user)  # type: ignore[attr-defined]
    return request._sora_spend  # type: ignore[attr-defined]


def member_context(request: HttpRequest) -> dict[str, Any]:
    """What the header shows a signed-in member: may they make videos, their spend and what is left."""
    user = request.user
    if not user.is_authenticated:
        return {}
    may_make = policy.may_make(user)
    return {"sora_may_make": may_make, "sora_spend": spend_of(request) if may_make else [],
            "sora_manages": policy.manages(user), "sora_currency": conf.get("CURRENCY")}


def render_page(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    ctx = {"videos_site_base": site_base(), "poll_ms": POLL_MS, **member_context(request), **context}
    for key, value in sora_context(request).items():  # works without the context processor too
        ctx.setdefault(key, value)
    return render(request, template, ctx, status=status)
