"""Reading ``DailyFigure`` for a period, against the previous period (issue 28).

Every page, export and the monthly report read through ``figures_for(account_ids, period)``:
a fixed number of queries whatever the period's length or the number of accounts (the daily
totals of both periods; the breakdowns; per account; last values of "last" metrics; our
rollup's days; WeChat's missing days), each an index range on (account, day). The logs are
never read here.

What is missing and why (``Missing``): days our own rollup has not reached, days WeChat's
statistics are missing for an account (``wechat_missing_days``, THE SEAM to the datacube
sync's ``insights.selectors.missing_days``), today (not over) and days in the future.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from django.db import connection
from django.db.models import OuterRef, QuerySet, Subquery, Sum
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from . import metrics
from .models import DailyFigure, RollupDay

#: the longest period a page shows (three years and a day)
MAX_DAYS = 366 * 3
#: rows of each breakdown shown (the export has them all)
BREAKDOWN_TOP = 10


class PeriodError(ValueError):
    def __init__(self, message: str | Promise) -> None:
        super().__init__(str(message))
        self.user_message = message


@dataclass(frozen=True)
class Period:
    """Days ``start`` to ``end``, both included (Beijing days)."""

    start: datetime.date
    end: datetime.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period of the same length that ends the day before this one starts."""
        end = self.start - datetime.timedelta(days=1)
        return Period(end - datetime.timedelta(days=self.days - 1), end)

    def each_day(self) -> list[datetime.date]:
        return [self.start + datetime.timedelta(days=n) for n in range(self.days)]

    @classmethod
    def last_days(cls, days: int, *, today: datetime.date | None = None) -> Period:
        """The ``days`` days up to yesterday (today is not over)."""
        end = (today or timezone.localdate()) - datetime.timedelta(days=1)
        return cls(end - datetime.timedelta(days=days - 1), end)

    @classmethod
    def month(cls, first: datetime.date) -> Period:
        first = first.replace(day=1)
        following = (first + datetime.timedelta(days=32)).replace(day=1)
        return cls(first, following - datetime.timedelta(days=1))

    @classmethod
    def parse(cls, start: str | None, end: str | None, *, default_days: int = 30) -> Period:
        """From the query string (YYYY-MM-DD); the default is the last ``default_days`` days.
        Raises PeriodError in words for a malformed, reversed or too long period."""
        if not start and not end:
            return cls.last_days(default_days)
        try:
            first = datetime.date.fromisoformat(start or "")
            last = datetime.date.fromisoformat(end or "")
        except ValueError:
            raise PeriodError(_("Give the period as two dates, e.g. 2026-11-01 and 2026-11-30.")) from None
        if last < first:
            raise PeriodError(_("The period ends before it starts."))
        if (last - first).days + 1 > MAX_DAYS:
            raise PeriodError(_("A period is at most three years long."))
        if first.year < 2000:
            raise PeriodError(_("Give the period as two dates, e.g. 2026-11-01 and 2026-11-30."))
        return cls(first, last)


@dataclass
class MetricFigures:
    key: str
    label: str | Promise
    group: str
    kind: str
    current: int | None
    previous: int | None
    series: list[int | None]
    previous_series: list[int | None]

    @property
    def change(self) -> float | None:
        """Percent change against the previous period (None when there is nothing to compare)."""
        if self.current is None or not self.previous:
            return None
        return round(100.0 * (self.current - self.previous) / abs(self.previous), 1)


@dataclass
class Missing:
    """Days of one kind of figure that are missing, and why (shown as is on the pages)."""

    what: str | Promise
    days: list[datetime.date]
    reason: str | Promise
    account_id: int | None = None

    @property
    def ranges(self) -> list[tuple[datetime.date, datetime.date]]:
        out: list[tuple[datetime.date, datetime.date]] = []
        for day in sorted(self.days):
            if out and day == out[-1][1] + datetime.timedelta(days=1):
                out[-1] = (out[-1][0], day)
            else:
                out.append((day, day))
        return out


@dataclass
class Figures:
    period: Period
    previous: Period
    metrics: list[MetricFigures]
    breakdowns: dict[str, list[tuple[str, int]]]
    per_account: dict[int, dict[str, int]]
    missing: list[Missing]
    has_data: bool
    average_response_seconds: tuple[float | None, float | None] = (None, None)
    groups: dict[str, list[MetricFigures]] = field(default_factory=dict)

    def get(self, key: str) -> MetricFigures | None:
        return next((m for m in self.metrics if m.key == key), None)


def wechat_missing_days(
    account_ids: list[int], start: datetime.date, end: datetime.date
) -> dict[int, dict[datetime.date, str | Promise]]:
    """Per account, the days of [start, end] WeChat's statistics are missing, with the reason.

    THE SEAM to the datacube sync (the other half of issue 28): where the sync's
    ``insights.selectors.missing_days(account, start, end)`` exists (it knows the days WeChat
    answered an error and will retry, and those never fetched), its reasons are used, one
    query per account. Without it: the days with no ``source="wechat"`` row, in ONE query.
    """
    sync_selector = _sync_missing_days()
    if sync_selector is not None:
        return _from_sync(sync_selector, account_ids, start, end)
    have: dict[int, set[datetime.date]] = defaultdict(set)
    for account_id, day in (
        DailyFigure.objects.filter(
            account_id__in=account_ids,
            day__gte=start,
            day__lte=end,
            dimension="",
            source=DailyFigure.Source.WECHAT,
        )
        .order_by()
        .values_list("account_id", "day")
        .distinct()
    ):
        have[account_id].add(day)
    days = Period(start, end).each_day() if end >= start else []
    reason = _("no statistics from WeChat for these days yet (not synced, or WeChat answered an error)")
    return {
        account_id: {day: reason for day in days if day not in have[account_id]} for account_id in account_ids
    }


def _sync_missing_days() -> Any:
    """The datacube sync's selector, if this installation has it (see ``wechat_missing_days``)."""
    try:
        module = import_module("insights.selectors")
    except ImportError:  # not merged yet, or its models are missing
        return None
    return getattr(module, "missing_days", None)


def _from_sync(
    selector: Any, account_ids: list[int], start: datetime.date, end: datetime.date
) -> dict[int, dict[datetime.date, str | Promise]]:
    """The sync's ``MissingDay`` rows (day, area_label, why) as {account: {day: reason}}: a day
    missing in several areas gets each area's reason, joined."""
    from accounts.models import OfficialAccount

    out: dict[int, dict[datetime.date, str | Promise]] = {}
    for account in OfficialAccount.objects.filter(pk__in=account_ids).order_by("pk"):
        days: dict[datetime.date, list[str]] = defaultdict(list)
        for item in selector(account, start, end):
            days[item.day].append(f"{item.area_label}: {item.why}")
        out[account.pk] = {day: "; ".join(reasons) for day, reasons in days.items()}
    return out


def _missing(
    account_ids: list[int], period: Period, names: Mapping[int, str], today: datetime.date
) -> list[Missing]:
    out: list[Missing] = []
    future = [d for d in period.each_day() if d > today]
    if future:
        out.append(Missing(_("all figures"), future, _("these days have not come yet")))
    if period.start <= today <= period.end:
        out.append(Missing(_("all figures"), [today], _("today is not over: its figures so far")))
    past_end = min(period.end, today - datetime.timedelta(days=1))
    if past_end < period.start:
        return out
    rolled = set(
        RollupDay.objects.filter(day__gte=period.start, day__lte=past_end).values_list("day", flat=True)
    )
    not_rolled = [d for d in Period(period.start, past_end).each_day() if d not in rolled]
    if not_rolled:
        out.append(
            Missing(
                _("our own figures"),
                not_rolled,
                _("not rolled up: before our figures were kept, or the hourly rollup has not reached them"),
            )
        )
    by_reason: dict[tuple[int, str], list[datetime.date]] = defaultdict(list)
    reasons: dict[str, str | Promise] = {}
    for account_id, absent in wechat_missing_days(account_ids, period.start, past_end).items():
        for day, reason in absent.items():
            by_reason[account_id, str(reason)].append(day)
            reasons[str(reason)] = reason
    for (account_id, key), days in sorted(
        by_reason.items(), key=lambda item: (names.get(item[0][0], ""), item[0])
    ):
        what = _("WeChat statistics of %(account)s") % {"account": names.get(account_id, account_id)}
        out.append(Missing(what, days, reasons[key], account_id=account_id))
    return out


def figures_for(
    account_ids: Iterable[int],
    period: Period,
    *,
    names: Mapping[int, str] | None = None,
    today: datetime.date | None = None,
) -> Figures:
    """The figures of a set of accounts over ``period`` and the one before it."""
    ids = sorted(set(account_ids))
    today = today or timezone.localdate()
    previous = period.previous()
    both = DailyFigure.objects.filter(
        account_id__in=ids, day__gte=previous.start, day__lte=period.end
    ).order_by()
    daily: dict[str, dict[datetime.date, int]] = defaultdict(dict)
    totals = both.filter(dimension="")
    # one account has one row per (metric, day): read them as they are (an index-only scan)
    # rather than making PostgreSQL hash two years of rows into the groups they already are
    rows = (
        totals.values_list("metric", "day", "value")
        if len(ids) == 1
        else totals.values_list("metric", "day").annotate(v=Sum("value"))
    )
    for key, day, value in rows:
        daily[key][day] = int(value)

    current_days, previous_days = period.each_day(), previous.each_day()
    found: list[MetricFigures] = []
    keys = [m.key for m in metrics.METRICS if m.key in daily] + sorted(
        k for k in daily if k not in metrics.BY_KEY
    )
    for key in keys:
        spec = metrics.metric(key)
        series: list[int | None] = [daily[key].get(d) for d in current_days]
        before: list[int | None] = [daily[key].get(d) for d in previous_days]
        found.append(
            MetricFigures(
                key=key,
                label=spec.label,
                group=spec.group,
                kind=spec.kind,
                current=_total(series, spec.kind),
                previous=_total(before, spec.kind),
                series=series,
                previous_series=before,
            )
        )

    breakdowns: dict[str, list[tuple[str, int]]] = defaultdict(list)
    label = metrics.dimension_labeller()
    split = [m.key for m in metrics.METRICS if m.split]
    for key, dimension, value in (
        both.filter(day__gte=period.start, metric__in=split)
        .exclude(dimension="")
        .values_list("metric", "dimension")
        .annotate(v=Sum("value"))
        .order_by("metric", "-v", "dimension")
    ):
        breakdowns[key].append((label(key, dimension), int(value)))

    per_account: dict[int, dict[str, int]] = defaultdict(dict)
    last_kind = [m.key for m in metrics.METRICS if m.kind != "sum"]
    if len(ids) == 1:  # the account's figures are the totals above: no query
        for item in found:
            values = [v for v in item.series if v is not None]
            if values:
                per_account[ids[0]][item.key] = values[-1] if item.key in last_kind else sum(values)
    else:
        current = both.filter(day__gte=period.start, dimension="")
        for account_id, key, value in (
            current.exclude(metric__in=last_kind).values_list("account_id", "metric").annotate(v=Sum("value"))
        ):
            per_account[account_id][key] = int(value)
        for account_id, key, value in _last_values(current.filter(metric__in=last_kind), period):
            per_account[account_id][key] = int(value)

    result = Figures(
        period=period,
        previous=previous,
        metrics=found,
        breakdowns=dict(breakdowns),
        per_account=dict(per_account),
        missing=_missing(ids, period, names or {}, today),
        has_data=any(m.current is not None for m in found),
    )
    result.average_response_seconds = (
        _average(result, "current"),
        _average(result, "previous"),
    )
    for item in found:
        if item.key not in metrics.HIDDEN:
            result.groups.setdefault(item.group, []).append(item)
    return result


def _last_values(rows: QuerySet[DailyFigure], period: Period) -> Iterable[tuple[int, str, int]]:
    """Each (account, metric)'s value on its last day in the period, in one query."""
    if connection.features.can_distinct_on_fields:  # PostgreSQL
        return (
            rows.order_by("account_id", "metric", "-day")
            .distinct("account_id", "metric")
            .values_list("account_id", "metric", "value")
        )
    latest = (
        DailyFigure.objects.filter(
            account_id=OuterRef("account_id"),
            metric=OuterRef("metric"),
            dimension="",
            day__gte=period.start,
            day__lte=period.end,
        )
        .order_by("-day")
        .values("day")[:1]
    )
    return rows.filter(day=Subquery(latest)).values_list("account_id", "metric", "value")


def _total(series: list[int | None], kind: str) -> int | None:
    values = [v for v in series if v is not None]
    if not values:
        return None
    if kind == "max":
        return max(values)
    return values[-1] if kind == "last" else sum(values)


def _average(figures: Figures, which: str) -> float | None:
    count, seconds = figures.get("reply.response.count"), figures.get("reply.response.seconds")
    if count is None or seconds is None:
        return None
    n, total = getattr(count, which), getattr(seconds, which)
    return round(total / n, 1) if n and total is not None else None
