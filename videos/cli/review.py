"""``manage.py sora approve|reject ID``: a reviewer's decision on a job awaiting approval.

The command runs as the site's operator; ``--user`` records which reviewer decided (the
maker is told either way, on the site and by e-mail where mail is configured).
"""
from __future__ import annotations

from typing import Any

from .. import services
from .console import Console
from .inputs import resolve_job, resolve_user


def approve(console: Console, o: dict[str, Any]) -> None:
    job = services.approve(resolve_job(o["id"]), user=resolve_user(o.get("user")))
    console.out(f"Approved job {job.pk}; it is being sent to {job.provider} "
                f"(estimated {job.estimated_cost:.2f}).")


def reject(console: Console, o: dict[str, Any]) -> None:
    job = services.reject(resolve_job(o["id"]), o.get("reason") or "", user=resolve_user(o.get("user")))
    console.out(f"Rejected job {job.pk}: nothing was sent; its maker sees the reason.")
