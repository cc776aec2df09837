"""Changelist parts whose cost does not grow with the table: a bounded count and an indexed date hierarchy.

Django's defaults read every row on each changelist page: ``COUNT(*)`` for the paginator,
and ``date_hierarchy`` draws its links from ``SELECT DISTINCT`` of the truncated date (a
Python function per row on SQLite). Here the count stops after ``exact_up_to`` rows and the
date links come from index range probes, so a page costs about the same at 100 or 100,000 rows.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import EmptyPage, Page, Paginator
from django.db import connections, models
from django.db.models import QuerySet
from django.utils import formats, timezone
from django.utils.functional import cached_property
from django.utils.text import capfirst
from django.utils.translation import gettext as _


class LargeTablePaginator(Paginator):
    """Exact counts up to ``exact_up_to`` rows; past that, an estimate or a lower bound, never a full count.

    The count is ``SELECT COUNT(*) FROM (… LIMIT exact_up_to + 1)``, so it reads at most that many
    rows. When there are more: for the whole table on PostgreSQL, the planner's row estimate
    (``pg_class.reltuples``, kept up to date by autovacuum's ANALYZE), shown as "about N";
    otherwise (filtered lists, other databases) ``exact_up_to + 1``, shown as "more than N".
    Pages past an estimated end are empty (the admin then shows its "invalid page" notice).
    """

    exact_up_to = 10_000

    @cached_property
    def _counted(self) -> tuple[int, bool, bool]:
        """(count, exact, estimated)."""
        if not isinstance(self.object_list, QuerySet):
            return super().count, True, False
        bounded = self.object_list.order_by().values("pk")[: self.exact_up_to + 1].count()
        if bounded <= self.exact_up_to:
            return bounded, True, False
        estimate = self.table_estimate()
        if estimate is not None and estimate > self.exact_up_to:
            return estimate, False, True
        return bounded, False, False

    @property
    def count(self) -> int:  # type: ignore[override]
        return self._counted[0]

    @property
    def exact(self) -> bool:
        """The count is the number of rows."""
        return self._counted[1]

    @property
    def estimated(self) -> bool:
        """The count is PostgreSQL's estimate (when neither this nor exact: a lower bound)."""
        return self._counted[2]

    def table_estimate(self) -> int | None:
        """PostgreSQL's row estimate when the list is the whole table; None when filtered or elsewhere."""
        qs = self.object_list
        query = qs.query
        if query.where or query.combinator or query.distinct or query.low_mark or query.high_mark is not None:
            return None
        connection = connections[qs.db]
        if connection.vendor != "postgresql":
            return None
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
                           [connection.ops.quote_name(qs.model._meta.db_table)])
            row = cursor.fetchone()
        return int(row[0]) if row and row[0] is not None and row[0] > 0 else None

    @property
    def count_label(self) -> str:
        """The count as the page shows it: ``1,234``, ``about 120,000`` or ``more than 10,000``."""
        if self.exact:
            return formats.number_format(self.count, force_grouping=True)
        if self.estimated:
            digits = len(str(self.count))
            rounded = round(self.count, -(digits - 2)) if digits > 2 else self.count
            return _("about %s") % formats.number_format(rounded, force_grouping=True)
        return _("more than %s") % formats.number_format(self.exact_up_to, force_grouping=True)

    def validate_number(self, number: Any) -> int:
        if self.exact:
            return super().validate_number(number)
        try:  # the end is not known: any page from 1 on, page() finds out whether it is empty
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            number = int(number)
        except (TypeError, ValueError):
            return super().validate_number(number)  # raises PageNotAnInteger
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        return number

    def page(self, number: Any) -> Page:
        if self.exact:
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom:bottom + self.per_page])
        if not rows and number > 1:
            raise EmptyPage(self.error_messages["no_results"])
        return self._get_page(rows, number, self)


def rows_in_ranges(queryset: QuerySet, field: str, ranges: list[tuple[Any, Any]]) -> list[bool]:
    """For each ``[start, end)``: does ``queryset`` have a row with ``field`` in it? One query,
    ``SELECT EXISTS(… LIMIT 1), …``: each part is a range probe on ``field``'s index that stops
    at the first row."""
    if not ranges:
        return []
    connection = connections[queryset.db]
    rest = queryset.order_by()
    parts, params = [], []
    for start, end in ranges:
        # the range first: SQLite seeks the index with the first bounds it meets on the column, and
        # the list may already be bounded (the selected year) more loosely
        head = queryset.model._base_manager.using(queryset.db).filter(**{f"{field}__gte": start, f"{field}__lt": end})
        if rest.query.distinct:
            head = head.distinct(*rest.query.distinct_fields)
        # unordered: head would bring Meta.ordering (for assets, the job's ordering: a join and a sort)
        probe = (head & rest).order_by().values("pk")[:1]
        sql, probe_params = probe.query.get_compiler(queryset.db).as_sql()
        parts.append(f"EXISTS ({sql})")
        params.extend(probe_params)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(parts)}{connection.features.bare_select_suffix}", params)
        return [bool(value) for value in cursor.fetchone()]


class IndexedDateHierarchyChangeList(ChangeList):
    """A ChangeList whose ``date_hierarchy`` links (years, months of a year, days of a month, as
    Django draws them) come from the first and last row by the date field and one
    :func:`rows_in_ranges` query, all answered by the field's index. The change list template
    includes ``admin/date_hierarchy.html`` with :meth:`date_hierarchy_links`."""

    @staticmethod
    def _first_and_last(queryset: QuerySet, name: str, is_datetime: bool) -> tuple[Any, Any]:
        """The earliest and latest value (local time): two index seeks."""
        dated = queryset.filter(**{f"{name}__isnull": False})
        first = dated.order_by(name).values_list(name, flat=True).first()
        last = dated.order_by(f"-{name}").values_list(name, flat=True).first()
        if is_datetime and first is not None and last is not None and timezone.is_aware(first):
            first, last = timezone.localtime(first), timezone.localtime(last)
        return first, last

    def date_hierarchy_links(self) -> dict[str, Any]:
        name = self.date_hierarchy
        field = self.model._meta.get_field(name)
        is_datetime = isinstance(field, models.DateTimeField)
        year_field, month_field, day_field = f"{name}__year", f"{name}__month", f"{name}__day"
        year, month, day = (self.params.get(key) for key in (year_field, month_field, day_field))
        queryset = self.queryset

        def link(filters: dict[str, Any]) -> str:
            return self.get_query_string(filters, [f"{name}__"])

        def moment(y: int, m: int = 1, d: int = 1) -> Any:
            if not is_datetime:
                return dt.date(y, m, d)
            value = dt.datetime(y, m, d)
            return timezone.make_aware(value) if settings.USE_TZ else value

        first = last = None
        if not (year or month or day):
            first, last = self._first_and_last(queryset, name, is_datetime)
            if first is not None and last is not None:
                if first.year == last.year:
                    year = first.year
                    if first.month == last.month:
                        month = first.month

        if year and month and day:
            shown = dt.date(int(year), int(month), int(day))
            return {
                "show": True,
                "back": {"link": link({year_field: year, month_field: month}),
                         "title": capfirst(formats.date_format(shown, "YEAR_MONTH_FORMAT"))},
                "choices": [{"title": capfirst(formats.date_format(shown, "MONTH_DAY_FORMAT"))}],
            }
        if year and month:
            y, m = int(year), int(month)
            days = [dt.date(y, m, 1) + dt.timedelta(days=i) for i in range(31)]
            days = [d for d in days if d.month == m]
            ranges = [(moment(d.year, d.month, d.day), moment(n.year, n.month, n.day))
                      for d, n in ((d, d + dt.timedelta(days=1)) for d in days)]
            found = rows_in_ranges(queryset, name, ranges)
            return {
                "show": True,
                "back": {"link": link({year_field: year}), "title": str(year)},
                "choices": [
                    {"link": link({year_field: year, month_field: month, day_field: d.day}),
                     "title": capfirst(formats.date_format(d, "MONTH_DAY_FORMAT"))}
                    for d, has_rows in zip(days, found) if has_rows
                ],
            }
        if year:
            y = int(year)
            ranges = [(moment(y, m), moment(y + (m == 12), m % 12 + 1)) for m in range(1, 13)]
            found = rows_in_ranges(queryset, name, ranges)
            return {
                "show": True,
                "back": {"link": link({}), "title": _("All dates")},
                "choices": [
                    {"link": link({year_field: year, month_field: m}),
                     "title": capfirst(formats.date_format(dt.date(y, m, 1), "YEAR_MONTH_FORMAT"))}
                    for m, has_rows in zip(range(1, 13), found) if has_rows
                ],
            }
        if first is None and (month or day):  # a month or day without a year: Django lists the years too
            first, last = self._first_and_last(queryset, name, is_datetime)
        years = list(range(first.year, last.year + 1)) if first is not None and last is not None else []
        found = rows_in_ranges(queryset, name, [(moment(y), moment(y + 1)) for y in years]) if len(years) > 2 \
            else [True] * len(years)  # the first and the last year have rows
        return {
            "show": True,
            "back": None,
            "choices": [{"link": link({year_field: str(y)}), "title": str(y)}
                        for y, has_rows in zip(years, found) if has_rows],
        }


def note_inexact_selection(response: Any) -> Any:
    """"All video assets selected (more than 10,000)" instead of Django's "All 10001 … selected"
    when the paginator's count is an estimate or a lower bound."""
    context = getattr(response, "context_data", None) or {}
    paginator = getattr(context.get("cl"), "paginator", None)
    if paginator is not None and not getattr(paginator, "exact", True):
        context["selection_note_all"] = f"All {context['module_name']} selected ({paginator.count_label})"
    return response


class LargeTableAdminMixin:
    """A ModelAdmin whose changelist reads a bounded number of rows, whatever the table's size:
    :class:`LargeTablePaginator`, :class:`IndexedDateHierarchyChangeList` (the model's
    ``change_list.html`` includes ``admin/date_hierarchy.html`` with
    ``cl.date_hierarchy_links``), and the ``about N`` / ``more than N`` wording in the
    selection note (the model's ``pagination.html``, ``search_form.html`` and ``actions.html``
    include the job admin's). Give it an ``ordering`` that an index answers, and filters whose
    choices do not come from ``SELECT DISTINCT`` over the table."""

    paginator = LargeTablePaginator
    show_full_result_count = False

    def get_changelist(self, request: Any, **kwargs: Any) -> type:
        return IndexedDateHierarchyChangeList

    def changelist_view(self, request: Any, extra_context: dict[str, Any] | None = None) -> Any:
        return note_inexact_selection(super().changelist_view(request, extra_context))  # type: ignore[misc]
