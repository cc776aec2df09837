"""API tokens: made for a person, shown once, kept as a SHA-256, revoked or expired at will.

A token is ``sora_`` followed by 40 random URL-safe characters; requests send it as
``Authorization: Bearer <token>``. A revoked, expired or unknown token is refused (401).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from django.utils import timezone

from .exceptions import InvalidRequest
from .models import ApiToken

PREFIX = "sora_"
#: How often (seconds) a token's last use is written, at most: not a write per request.
TOUCH_EVERY = 60


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create(user: Any, name: str, *, days: int | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user``; returns the row and the token itself (never stored)."""
    name = " ".join((name or "").split())
    if not name:
        raise InvalidRequest("Name the token after what uses it (e.g. 'n8n automation').", field="name")
    if days is not None and not 1 <= days <= 3650:
        raise InvalidRequest("A token lasts from 1 to 3650 days (or without end).", field="days")
    raw = PREFIX + secrets.token_urlsafe(30)
    token = ApiToken.objects.create(
        user=user, name=name[:100], prefix=raw[:12], digest=digest(raw),
        expires_at=timezone.now() + dt.timedelta(days=days) if days else None,
    )
    return token, raw


def find(raw: str) -> ApiToken | None:
    """The live token for ``raw`` (its user active), noting when it was last used; else None."""
    if not raw.startswith(PREFIX):
        return None
    token = ApiToken.objects.select_related("user").filter(digest=digest(raw)).first()
    if token is None or not token.is_live or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > TOUCH_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def revoke(token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token
