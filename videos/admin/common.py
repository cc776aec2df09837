"""Helpers shared by the videos admin: permissions, media URLs, model tables, per-object reports."""
from __future__ import annotations

from typing import Any, Callable, Iterable

from django.contrib import messages
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme

from .. import conf, permissions, services
from ..exceptions import InvalidRequest, SoraVideosError

#: Where action buttons on a change page ask to be sent back to.
RETURN_FIELD = "_return_to"


def can_submit(request: HttpRequest) -> bool:
    """The permission for anything that spends money (generate, submit, remix, edit, extend, re-submit)."""
    return request.user.is_active and request.user.has_perm(permissions.SUBMIT)


class SubmitPermissionMixin:
    """Gives a ModelAdmin ``has_submit_permission`` for actions declared with ``permissions=["submit"]``."""

    def has_submit_permission(self, request: HttpRequest) -> bool:
        return can_submit(request)


def admin_page(model_admin: Any, request: HttpRequest, title: str) -> dict[str, Any]:
    """What the context of every custom admin page starts with: the site's chrome, the title, the app."""
    opts = model_admin.model._meta
    return {**model_admin.admin_site.each_context(request), "title": title, "opts": opts, "app_label": opts.app_label}


def asset_url(asset: Any, *, download: bool = False, route: str = "videos:asset") -> str | None:
    """The authenticated media view's URL for a VideoAsset, or a SequenceAsset with
    ``route="videos:sequence_asset"`` (None until that view is installed)."""
    if asset is None:
        return None
    try:
        url = reverse(route, args=[asset.pk])
    except NoReverseMatch:
        return None
    return url + "?download=1" if download else url


def reference_image_url(ref: Any) -> str | None:
    if ref is None:
        return None
    try:
        return reverse("videos:reference_image", args=[ref.pk])
    except NoReverseMatch:
        return None


def safe_provider(name: str | None = None) -> Any:
    """The provider's config, or None when it is no longer configured (old jobs)."""
    try:
        return conf.provider(name)
    except SoraVideosError:
        return None


def money(amount: Any) -> str:
    return f"{amount:.2f} {conf.get('CURRENCY')}"


def return_url(request: HttpRequest) -> str | None:
    """The page an action button asked to come back to, if it is one of ours."""
    target = request.POST.get(RETURN_FIELD) or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


def done(request: HttpRequest, created: list[Any] | None = None) -> HttpResponseRedirect | None:
    """Where an action goes afterwards: the new job when one was made from a change page,
    else back where the button was, else (None) the changelist."""
    if created:
        say_if_workers_unreachable(request)
    target = return_url(request)
    if target is None:
        return None
    if created and len(created) == 1:
        return HttpResponseRedirect(reverse("admin:sora_videos_videojob_change", args=[created[0].pk]))
    return HttpResponseRedirect(target)


def say_if_workers_unreachable(request: HttpRequest) -> None:
    """After queuing work: a warning if the workers could not be told (it is saved all the same)."""
    if services.workers_unreachable():
        messages.warning(request, services.WORKERS_UNREACHABLE)


def describe(obj: Any) -> str:
    """How a message names an object: ``Job #12 “A red kite…”`` or ``Prompt #3 “Burger”``."""
    label = getattr(obj, "short_prompt", None) or str(obj)
    if len(label) > 60:
        label = label[:57] + "..."
    return f"{obj._meta.verbose_name.capitalize()} #{obj.pk} “{label}”"


def run_each(
    request: HttpRequest,
    objects: Iterable[Any],
    fn: Callable[[Any], str],
) -> int:
    """Apply ``fn`` to each object; one message per object. ``fn`` returns the success text
    (plain text is escaped; use ``format_html`` for a link).

    A SoraVideosError skips that object with its message (never a 500); returns how many succeeded.
    """
    ok = 0
    for obj in objects:
        try:
            text = fn(obj)
        except InvalidRequest as exc:  # bad input or over budget
            messages.error(request, format_html("{}: skipped. {}", describe(obj), str(exc)))
        except SoraVideosError as exc:  # wrong state, or the provider answered with an error
            messages.warning(request, format_html("{}: skipped. {}", describe(obj), str(exc)))
        else:
            ok += 1
            if text:
                messages.success(request, format_html("{}: {}", describe(obj), text))
    return ok
