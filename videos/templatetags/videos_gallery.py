"""Small formatting helpers for the gallery templates: ``{% load videos_gallery %}``."""
from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

from .. import advice

register = template.Library()


@register.filter
def clip_length(seconds: Any) -> str:
    """4 -> "4s", 65.2 -> "1:05"."""
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        return ""
    whole = int(round(value))
    if whole < 60:
        return f"{whole}s"
    return f"{whole // 60}:{whole % 60:02d}"


@register.filter
def dimensions(size: Any) -> str:
    """ "1280x720" -> "1280×720"."""
    return str(size or "").replace("x", "×")


@register.filter
def orientation(size: Any) -> str:
    try:
        w, h = (int(p) for p in str(size).split("x"))
    except ValueError:
        return "landscape"
    return "portrait" if h > w else "square" if h == w else "landscape"


@register.filter
def aspect(size: Any) -> str:
    """ "1280x720" -> "1280 / 720" for CSS aspect-ratio (digits only, so safe in a style attribute)."""
    try:
        w, h = (int(p) for p in str(size).split("x"))
    except ValueError:
        return "16 / 9"
    return f"{w} / {h}"


@register.filter
def ago(value: Any) -> str:
    """ "just now", "5 minutes ago", "2 days ago" (timesince's first unit only)."""
    if not value:
        return ""
    if (timezone.now() - value).total_seconds() < 60:
        return "just now"
    return f"{timesince(value, depth=1)} ago"


@register.filter
def variant_label(variant: str) -> str:
    return {"video": "Video", "thumbnail": "Thumbnail", "spritesheet": "Spritesheet"}.get(variant, variant)


@register.filter
def failure(job: Any) -> Any:
    """The failure of a job in a member's words (:func:`videos.advice.explain`), or None."""
    return advice.explain(job)
