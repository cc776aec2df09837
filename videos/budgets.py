"""Estimated cost and monthly budgets, checked before a job is created."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Q, Sum
from django.utils import timezone

from . import conf
from .exceptions import BudgetExceeded
from .models import JobStatus, VideoJob


def month_start() -> Any:
    now = timezone.localtime()
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def committed_jobs() -> Any:
    """Jobs that count as spend: anything that reached (or may reach) the provider."""
    never_billed = Q(status__in=(JobStatus.DRAFT,)) | (
        Q(status__in=(JobStatus.FAILED, JobStatus.DELETED)) & Q(remote_id__isnull=True))
    return VideoJob.objects.exclude(never_billed)


def _committed(filter_q: Q) -> Decimal:
    """What jobs matching ``filter_q`` cost this month."""
    total = committed_jobs().filter(filter_q, created_at__gte=month_start()).aggregate(
        total=Sum("estimated_cost"))["total"]
    return total or Decimal("0")


def _money(amount: Decimal) -> str:
    return f"{amount:.2f} {conf.get('CURRENCY')}"


def _check(limit_value: Any, spent: Decimal, cost: Decimal, *, whose: str, budget: str) -> None:
    limit = Decimal(str(limit_value))
    if spent + cost <= limit:
        return
    left = max(Decimal("0"), limit - spent)
    raise BudgetExceeded(
        f"Over budget: {whose} monthly budget is {_money(limit)}, {_money(spent)} is spent or committed, "
        f"{_money(left)} is left, and this video would cost {_money(cost)}. Choose a shorter or cheaper video, "
        "or ask an administrator to raise the budget.",
        budget=budget,
        remaining=left,
    )


def check_budget(user: Any, cost: Decimal, project: Any = None) -> None:
    """Raise :class:`BudgetExceeded` if ``cost`` does not fit in the project's, the user's or a group's budget."""
    if project is not None and project.monthly_budget is not None and cost > 0:
        _check(project.monthly_budget, _committed(Q(project=project)), cost,
               whose=f"the project “{project.name}”’s", budget=f"project:{project.name}")
    if user is None or not getattr(user, "is_authenticated", False) or cost <= 0:
        return
    user_budget = conf.get("USER_MONTHLY_BUDGET")
    if user_budget is not None:
        _check(user_budget, _committed(Q(owner=user)), cost,
               whose="your", budget=f"user:{user.get_username()}")
    group_budgets = conf.get("GROUP_MONTHLY_BUDGETS") or {}
    if group_budgets:
        for group in user.groups.filter(name__in=list(group_budgets)).order_by("name"):
            _check(group_budgets[group.name], _committed(Q(owner__groups=group)), cost,
                   whose=f"the group {group.name!r}'s", budget=f"group:{group.name}")


def limited(user: Any, project: Any = None) -> bool:
    """Whether any budget applies to this spender (then spending takes the one budget lock)."""
    if project is not None and project.monthly_budget is not None:
        return True
    return bool(user is not None and getattr(user, "is_authenticated", False) and (
        conf.get("USER_MONTHLY_BUDGET") is not None or conf.get("GROUP_MONTHLY_BUDGETS")))


@dataclass
class Spend:
    """One budget's standing this month (``limit`` None: no budget, only the spend)."""
    label: str
    spent: Decimal
    limit: Decimal | None

    @property
    def left(self) -> Decimal | None:
        return None if self.limit is None else max(Decimal("0"), self.limit - self.spent)


def summary(user: Any) -> list[Spend]:
    """The user's own spend this month and, where budgets are set, what is left of theirs and
    of each of their groups' (for the header menu and the make page)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    user_budget = conf.get("USER_MONTHLY_BUDGET")
    rows = [Spend("You", _committed(Q(owner=user)), None if user_budget is None else Decimal(str(user_budget)))]
    group_budgets = conf.get("GROUP_MONTHLY_BUDGETS") or {}
    if group_budgets:
        for group in user.groups.filter(name__in=list(group_budgets)).order_by("name"):
            rows.append(Spend(group.name, _committed(Q(owner__groups=group)), Decimal(str(group_budgets[group.name]))))
    return rows


def spendable(user: Any, rows: list[Spend] | None = None) -> Decimal | None:
    """The most the user can commit now under every budget that applies (None: no limit);
    ``rows``: their :func:`summary`, when the page has it already."""
    lefts = [row.left for row in (summary(user) if rows is None else rows) if row.left is not None]
    return min(lefts) if lefts else None
