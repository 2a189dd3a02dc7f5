"""Our own figures as daily rollups into ``DailyFigure`` (source "own"), issue 28.

Each app that has figures of its own keeps a ``daily_figures`` module (``messaging``: menu
clicks per button, keyword rules hit, users' messages, replies and response times;
``audience``: QR code scans and follows per code; ``notifications``: template messages sent,
delivered and failed). This module collects them by name (``accounts.app_modules``), so
insights imports no other app and none imports insights, and writes one Beijing day at a time:

- ``rollup_day(day)`` replaces the day's own figures in ONE transaction (delete the day's
  "own" rows, insert the new ones): running it twice leaves the same rows, a reader sees the
  old or the new figures, never a mix, and WeChat's rows (source "wechat") are never touched;
- ``rollup_due()`` (the hourly task) rolls up every day that is not final yet, from the day
  after the last final one (first run: ``INSIGHTS_OWN_BACKFILL_DAYS`` back) to today, at most
  ``INSIGHTS_OWN_DAYS_PER_RUN`` days a run — so a worker that was down catches up by itself.

The pages never read the logs: they read ``DailyFigure`` and ``RollupDay`` only.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.app_modules import app_modules

from .models import DailyFigure, RollupDay

logger = logging.getLogger(__name__)

Row = tuple[int, str, str, int]
Provider = Callable[..., Iterable[Row]]

#: a day rolled up this long after its end is final (late commits of the log flusher are in)
FINAL_AFTER = datetime.timedelta(hours=2)


def providers() -> list[Provider]:
    """Every installed app's ``daily_figures.daily_figures``."""
    return [module.daily_figures for module in app_modules("daily_figures")]


def day_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """[start, end) of a Beijing day (TIME_ZONE is Asia/Shanghai), as aware datetimes."""
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    return start, start + datetime.timedelta(days=1)


def rollup_day(day: datetime.date, *, now: datetime.datetime | None = None) -> int:
    """Recompute and replace our own figures of ``day``; returns how many rows were written."""
    now = now or timezone.now()
    start, end = day_bounds(day)
    figures: dict[tuple[int, str, str], int] = {}
    for provider in providers():
        for account_id, metric, dimension, value in provider(day=day, start=start, end=end):
            if value:
                key = (account_id, metric, dimension)
                figures[key] = figures.get(key, 0) + int(value)
    rows = [
        DailyFigure(
            account_id=account_id,
            day=day,
            metric=metric,
            dimension=dimension,
            value=value,
            source=DailyFigure.Source.OWN,
        )
        for (account_id, metric, dimension), value in figures.items()
    ]
    with transaction.atomic():
        # the day's row first, locked: two runs of one day queue here instead of interleaving
        RollupDay.objects.get_or_create(day=day, defaults={"rolled_at": now})
        RollupDay.objects.select_for_update().get(day=day)
        DailyFigure.objects.filter(day=day, source=DailyFigure.Source.OWN).delete()
        DailyFigure.objects.bulk_create(
            rows,
            batch_size=2000,
            update_conflicts=True,
            unique_fields=["account", "metric", "dimension", "day"],
            update_fields=["value", "source", "updated_at"],
        )
        RollupDay.objects.filter(day=day).update(
            rolled_at=now, final=now >= end + FINAL_AFTER, rows=len(rows)
        )
    return len(rows)


def due_days(*, now: datetime.datetime | None = None) -> list[datetime.date]:
    """The days the next run rolls up, oldest first (see the module's docstring)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    backfill = settings.INSIGHTS_OWN_BACKFILL_DAYS
    per_run = settings.INSIGHTS_OWN_DAYS_PER_RUN
    first = today - datetime.timedelta(days=backfill - 1)
    last_final = (
        RollupDay.objects.filter(final=True, day__gte=first)
        .order_by("-day")
        .values_list("day", flat=True)
        .first()
    )
    start = last_final + datetime.timedelta(days=1) if last_final else first
    final = set(RollupDay.objects.filter(final=True, day__gte=start).values_list("day", flat=True))
    days: list[datetime.date] = []
    day = start
    while day <= today and len(days) < per_run:
        if day not in final:
            days.append(day)
        day += datetime.timedelta(days=1)
    return days


def rollup_due(*, now: datetime.datetime | None = None) -> int:
    """Roll up every due day; returns the number of days rolled up."""
    days = due_days(now=now)
    for day in days:
        rows = rollup_day(day, now=now)
        logger.info("insights: own figures of %s rolled up (%d rows)", day, rows)
    return len(days)
