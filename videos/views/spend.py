"""The managers' spend page: this month (or another) by person, model and provider, and a
plot of the last twelve months. Estimated costs, as the budgets count them."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Count, Sum
from django.db.models.functions import TruncMonth
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from .. import budgets, conf, policy
from .access import gallery_access, no_access
from .pages import render_page

MONTHS = 12


def _months_back(start: dt.datetime, n: int) -> dt.datetime:
    year, month = divmod(start.year * 12 + start.month - 1 - n, 12)
    return start.replace(year=year, month=month + 1)


def _rows(qs: Any, field: str, labels: dict[str, str] | None = None) -> list[dict[str, Any]]:
    rows = qs.values(field).annotate(total=Sum("estimated_cost"), jobs=Count("pk")).order_by("-total", field)
    return [{"label": (labels or {}).get(row[field], row[field]) or "—", "total": row["total"] or Decimal("0"),
             "jobs": row["jobs"]} for row in rows]


@require_safe
@gallery_access
def spend(request: HttpRequest) -> HttpResponse:
    if not policy.manages(request.user):
        return no_access(request, needs="Video managers", doing="see the team's spend")
    this_month = budgets.month_start()
    first = _months_back(this_month, MONTHS - 1)
    per_month = {row["month"].date(): row["total"]
                 for row in budgets.committed_jobs().filter(created_at__gte=first)
                 .annotate(month=TruncMonth("created_at")).values("month").annotate(total=Sum("estimated_cost"))}
    months = [_months_back(this_month, n) for n in range(MONTHS - 1, -1, -1)]
    chosen = request.GET.get("month", "")
    month = next((m for m in months if m.strftime("%Y-%m") == chosen), this_month)
    top = max([v for v in per_month.values() if v] or [Decimal("1")])
    bars = [{"month": m, "key": m.strftime("%Y-%m"), "total": per_month.get(m.date(), Decimal("0")) or Decimal("0"),
             "current": m == month} for m in months]
    for bar in bars:
        bar["height"] = float(bar["total"] / top * 100) if top else 0.0
    in_month = budgets.committed_jobs().filter(created_at__gte=month, created_at__lt=_months_back(month, -1))
    providers = {name: p.display_name for name, p in conf.providers().items()}
    return render_page(request, "sora_videos/spend.html", {
        "month": month, "bars": bars, "currency": conf.get("CURRENCY"),
        "total": in_month.aggregate(total=Sum("estimated_cost"))["total"] or Decimal("0"),
        "tables": [("person", _rows(in_month, "owner__username")), ("model", _rows(in_month, "model")),
                   ("provider", _rows(in_month, "provider", providers)), ("project", _rows(in_month, "project__name"))],
    })
