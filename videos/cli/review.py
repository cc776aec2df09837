"""``manage.py sora approve|reject ID``: a reviewer's decision on a job awaiting approval;
``manage.py sora share ID``: a link that shows a video to anyone, signed out.

The commands run as the site's operator; ``--user`` records which reviewer decided (the
maker is told either way, on the site and by e-mail where mail is configured).
"""
from __future__ import annotations

from typing import Any

from django.urls import reverse

from .. import conf, services, sharing
from .console import Console
from .inputs import resolve_job, resolve_user


def approve(console: Console, o: dict[str, Any]) -> None:
    job = services.approve(resolve_job(o["id"]), user=resolve_user(o.get("user")))
    console.out(f"Approved job {job.pk}; it is being sent to {job.provider} "
                f"(estimated {job.estimated_cost:.2f}).")


def reject(console: Console, o: dict[str, Any]) -> None:
    job = services.reject(resolve_job(o["id"]), o.get("reason") or "", user=resolve_user(o.get("user")))
    console.out(f"Rejected job {job.pk}: nothing was sent; its maker sees the reason.")


def share(console: Console, o: dict[str, Any]) -> None:
    link = sharing.create(resolve_job(o["id"]), expires=o.get("expires") or sharing.DEFAULT_EXPIRY)
    path = reverse("videos:share", args=[link.token])
    base = (o.get("url") or conf.get("SITE_URL") or "").rstrip("/")
    console.out(f"{base}{path}" if base else path)
    where = "" if base else " Put the site's address in front (or pass --url, or set SORA_VIDEOS['SITE_URL'])."
    console.info(f"Valid until {link.expires_at:%Y-%m-%d %H:%M %Z}; revoke it on the video's page.{where}")
