"""Approval before spend: what costs more than ``APPROVAL_ABOVE`` waits for a reviewer.

A job that needs approval is created ``awaiting_approval``: nothing is sent to the provider,
and its estimated cost counts against the budgets (reserved) until a reviewer approves it
(it becomes pending and is submitted once) or rejects it (it fails, and the reservation is
freed). The threshold is the provider's own ``APPROVAL_ABOVE`` or else the global one.
"""
from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.mail import send_mail

from . import conf
from .conf import ProviderConfig
from .models import VideoJob

log = logging.getLogger(__name__)


def threshold(config: ProviderConfig, project: Any = None) -> Decimal | None:
    """The cost above which a request to ``config`` waits for approval (None: never): the
    project's own threshold, else the provider's, else the site's."""
    if project is not None and project.approval_above is not None:
        return Decimal(project.approval_above)
    if config.approval_above is not None:
        return config.approval_above
    value = conf.get("APPROVAL_ABOVE")
    return None if value is None else Decimal(str(value))


def needed(config: ProviderConfig, cost: Decimal, project: Any = None) -> bool:
    limit = threshold(config, project)
    return limit is not None and cost > limit


def why(config: ProviderConfig, cost: Decimal, project: Any = None) -> str:
    """The sentence a waiting job's history and page show."""
    return (f"waits for a reviewer's approval: it would cost {cost:.2f} {conf.get('CURRENCY')}, more than the "
            f"{threshold(config, project):.2f} that may be spent without one")


def tell_maker(job: VideoJob, *, approved: bool, by: Any, reason: str = "") -> None:
    """E-mail the maker (where the site's mail is configured and they have an address); the
    decision is on the video's page and in its history in any case."""
    owner = job.owner
    if owner is None or not getattr(owner, "email", ""):
        return
    who = by.get_username() if by is not None else "a reviewer"
    if approved:
        subject = f"Approved: {job.short_prompt}"
        body = f"{who} approved your video “{job.short_prompt}”. It is being made now."
    else:
        subject = f"Not approved: {job.short_prompt}"
        body = f"{who} did not approve your video “{job.short_prompt}”." + (f"\n\nReason: {reason}" if reason else "")
    try:
        send_mail(subject, body, getattr(settings, "DEFAULT_FROM_EMAIL", None), [owner.email])
    except Exception:  # mail is a courtesy: the decision stands and is shown on the site
        log.warning("could not e-mail %s about job %s", owner.email, job.pk, exc_info=True)
