"""The gallery's filters and its keyset pagination.

Filters come from the query string (so a filtered page can be bookmarked and shared) and
are validated by :class:`GalleryFilterForm`; invalid values are reported beside the field
and ignored, never half-applied. Pages are cut by a cursor on ``(created_at, id)`` rather
than by offset, so the 400th page costs what the first does and no ``COUNT(*)`` ever runs
over the whole table.
"""
from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from . import conf
from .exceptions import SoraVideosError
from .models import Collection, JobKind, JobStatus

PAGE_SIZE = 24
MAX_SEARCH = 200

#: Status filter values: a few groups people think in, then the raw states.
STATUS_GROUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "completed": ("Completed", (JobStatus.COMPLETED,)),
    "active": ("In progress", tuple(JobStatus.active())),
    "failed": ("Failed", (JobStatus.FAILED,)),
    "needs_attention": ("Needs attention", (JobStatus.NEEDS_ATTENTION,)),
}


def _configured() -> tuple[list[tuple[str, str]], list[str], list[str]]:
    """(provider choices, model names, sizes) from the configuration: no database query."""
    try:
        providers = conf.providers()
    except SoraVideosError:
        return [], [], []
    provider_choices = [(name, p.display_name) for name, p in providers.items()]
    models: list[str] = []
    sizes: list[str] = []
    for p in providers.values():
        for spec in p.models.values():
            if spec.name not in models:
                models.append(spec.name)
            for size in spec.sizes:
                if size not in sizes:
                    sizes.append(size)
    sizes.sort(key=lambda s: (int(s.split("x")[0]) * int(s.split("x")[1]), s))
    return provider_choices, models, sizes


class OwnerField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        full = obj.get_full_name() if hasattr(obj, "get_full_name") else ""
        return full or obj.get_username()


class FilterForm(forms.Form):
    """What the gallery's filter forms share: the active owner choices, a count of the filters
    in use and the query string that keeps them across pages. Subclasses name ``FILTER_FIELDS``."""

    #: The fields that narrow the list (everything but the cursor).
    FILTER_FIELDS: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "owner" in self.fields:
            user_model = get_user_model()
            self.fields["owner"].queryset = user_model._default_manager.filter(is_active=True).order_by(
                user_model.USERNAME_FIELD
            )

    @property
    def active_filters(self) -> int:
        if not self.is_bound or not self.is_valid():
            return 0
        return sum(1 for name in self.FILTER_FIELDS if self.cleaned_data.get(name) not in (None, "", False))

    def querystring(self, **extra: Any) -> str:
        """The current (valid) filters as a query string, plus ``extra`` (for pager links)."""
        params: list[tuple[str, str]] = []
        if self.is_bound:
            for name in self.FILTER_FIELDS:
                value = self.data.get(name, "")
                if value and name not in self.errors:
                    params.append((name, str(value)))
        params += [(k, str(v)) for k, v in extra.items() if v not in (None, "")]
        return urlencode(params)


class GalleryFilterForm(FilterForm):
    q = forms.CharField(
        label="Search prompts", required=False, max_length=MAX_SEARCH, strip=True,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Search prompts…", "autocomplete": "off"}),
    )
    status = forms.ChoiceField(label="Status", required=False)
    model = forms.ChoiceField(label="Model", required=False)
    provider = forms.ChoiceField(label="Provider", required=False)
    size = forms.ChoiceField(label="Size", required=False)
    kind = forms.ChoiceField(label="Kind", required=False)
    owner = OwnerField(label="Owner", required=False, queryset=None, empty_label="Anyone")
    date_from = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    review = forms.ChoiceField(label="Review", required=False, choices=[
        ("", "Any review"), ("approved", "Approved for use"), ("changes", "Needs changes"),
        ("unreviewed", "Not reviewed")])
    rating = forms.TypedChoiceField(label="Rating", required=False, coerce=int, empty_value=None, choices=[
        ("", "Any rating"), *[(str(n), f"{n}★ and up") for n in (5, 4, 3, 2, 1)]])
    tag = forms.CharField(label="Tag", required=False, max_length=50)
    collection = forms.ModelChoiceField(label="Collection", required=False, queryset=Collection.objects.none(),
                                        empty_label="Any collection")
    favourites = forms.BooleanField(label="Only my favourites", required=False)

    FILTER_FIELDS = ("q", "status", "model", "provider", "size", "kind", "owner", "date_from", "date_to",
                     "review", "rating", "tag", "collection", "favourites")

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["collection"].queryset = Collection.objects.order_by("name")
        providers, models, sizes = _configured()
        self.fields["status"].choices = [("", "Any status")] + [(k, v[0]) for k, v in STATUS_GROUPS.items()]
        self.fields["model"].choices = [("", "Any model")] + [(m, m) for m in models]
        self.fields["provider"].choices = [("", "Any provider")] + providers
        self.fields["size"].choices = [("", "Any size")] + [(s, s.replace("x", "×")) for s in sizes]
        self.fields["kind"].choices = [("", "Any kind")] + list(JobKind.choices)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def apply(self, qs: QuerySet) -> QuerySet:
        """Narrow ``qs`` by the valid filters (call after ``is_valid()``)."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        if data.get("q"):
            for word in data["q"].split()[:8]:
                qs = qs.filter(prompt_text__icontains=word)
        if data.get("status"):
            qs = qs.filter(status__in=STATUS_GROUPS[data["status"]][1])
        for name in ("model", "provider", "size", "kind"):
            if data.get(name):
                qs = qs.filter(**{name: data[name]})
        if data.get("owner"):
            qs = qs.filter(owner=data["owner"])
        if data.get("review"):
            qs = qs.filter(review_status="" if data["review"] == "unreviewed" else data["review"])
        if data.get("rating"):
            qs = qs.filter(rating__gte=data["rating"])
        if data.get("tag"):
            qs = qs.filter(tags__name__iexact=data["tag"])
        if data.get("collection"):
            qs = qs.filter(collections=data["collection"])
        if data.get("favourites") and self.user is not None and self.user.is_authenticated:
            qs = qs.filter(favourites__user=self.user)
        tz = timezone.get_current_timezone()
        if data.get("date_from"):
            qs = qs.filter(created_at__gte=dt.datetime.combine(data["date_from"], dt.time.min, tzinfo=tz))
        if data.get("date_to"):
            end = dt.datetime.combine(data["date_to"] + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
            qs = qs.filter(created_at__lt=end)
        return qs


# --- keyset pagination ---------------------------------------------------------------
class BadCursor(ValueError):
    pass


def encode_cursor(created_at: dt.datetime, pk: int) -> str:
    raw = f"{created_at.isoformat()}|{pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(value: str) -> tuple[dt.datetime, int]:
    try:
        padded = value + "=" * (-len(value) % 4)
        stamp, _, pk = base64.urlsafe_b64decode(padded.encode()).decode().partition("|")
        when = parse_datetime(stamp)
        if when is None or not pk.isdigit():
            raise ValueError
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadCursor("That page link is no longer valid; showing the newest videos.") from exc
    if timezone.is_naive(when):
        when = timezone.make_aware(when, dt.timezone.utc)
    return when, int(pk)


@dataclass
class Page:
    items: list[Any]
    next_cursor: str | None = None
    prev_cursor: str | None = None
    first: bool = True
    notes: list[str] = field(default_factory=list)

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_prev(self) -> bool:
        return self.prev_cursor is not None


def keyset_page(qs: QuerySet, *, after: str = "", before: str = "", size: int = PAGE_SIZE) -> Page:
    """One page of ``qs`` newest first, after or before a cursor; one query, ``size + 1`` rows."""
    notes: list[str] = []
    try:
        if before:
            when, pk = decode_cursor(before)
            rows = list(
                qs.filter(created_at__gte=when)  # implied by the next line, but only this bound uses the index
                .filter(Q(created_at__gt=when) | Q(created_at=when, pk__gt=pk)).order_by("created_at", "pk")[
                    : size + 1
                ]
            )
            more_newer = len(rows) > size
            items = list(reversed(rows[:size]))
            page = Page(items=items, first=not more_newer)
            if items:
                page.next_cursor = encode_cursor(items[-1].created_at, items[-1].pk)
                if more_newer:
                    page.prev_cursor = encode_cursor(items[0].created_at, items[0].pk)
            return page
        if after:
            when, pk = decode_cursor(after)
            # the first bound is implied by the second, but only it starts the index scan at the cursor
            # (without it PostgreSQL walks and discards every newer row: 34 ms half-way down 100,000 jobs)
            qs = qs.filter(created_at__lte=when).filter(Q(created_at__lt=when) | Q(created_at=when, pk__lt=pk))
    except BadCursor as exc:
        notes.append(str(exc))
        after = ""
    rows = list(qs.order_by("-created_at", "-pk")[: size + 1])
    items = rows[:size]
    page = Page(items=items, first=not after, notes=notes)
    if len(rows) > size:
        page.next_cursor = encode_cursor(items[-1].created_at, items[-1].pk)
    if after and items:
        page.prev_cursor = encode_cursor(items[0].created_at, items[0].pk)
    return page
