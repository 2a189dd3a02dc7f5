"""Reads of the insights app shared by pages, exports, the monthly report and tasks."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import OfficialAccount
from wechat.api import datacube

from .models import Area, SyncDay
from .wechat_sync import AREAS


@dataclass(frozen=True)
class MissingDay:
    """One (day, statistics) of WeChat's figures that a page cannot show, and why.

    ``status``: ``missing`` (WeChat answered an error: ``errcode``, ``reason``, ``attempts``;
    retried by the daily sync), ``pending`` (planned, not fetched yet), ``not_synced`` (never
    asked for: no backfill covered it) or ``not_yet`` (WeChat gives a day after 08:00 Beijing
    the next day). ``why`` is one sentence for staff, in the active language."""

    day: datetime.date
    area: str
    area_label: str
    status: str
    why: str
    errcode: int | None = None
    reason: str = ""
    attempts: int = 0
    last_tried_at: datetime.datetime | None = None


def missing_days(
    account: OfficialAccount,
    start: datetime.date,
    end: datetime.date,
    *,
    areas: list[str] | None = None,
    now: datetime.datetime | None = None,
) -> list[MissingDay]:
    """Every (day, area) of ``start..end`` (Beijing days, inclusive) whose WeChat figures are not
    in ``DailyFigure``, ordered by day then area; days fetched (``ok``) are left out. ``areas``:
    a subset of ``insights.models.Area`` values (all by default). Days before an area's first
    day (WeChat keeps nothing older: 2025-11-01 for the per-article areas) are not missing.
    One query. Scoping is the caller's: pass an account the user may see."""

    areas = list(areas) if areas is not None else [a.value for a in Area]
    # translated once per call, not per (day, area): a year of an account never synced is
    # thousands of rows, and a gettext each made the page's largest CPU cost (issue 28)
    labels = {area: str(dict(Area.choices).get(area, area)) for area in areas}
    firsts = {area: AREAS[area].first_day if area in AREAS else datacube.FIRST_DAY for area in areas}
    not_yet = _("WeChat gives a day's figures after 08:00 the next day.")
    pending = _("Not fetched yet; the sync is on its way.")
    not_synced = _("Never fetched: start a backfill of WeChat's statistics.")
    until = datacube.available_until(now or timezone.now())
    # tuples, not model instances: a synced year is ~3,000 rows, nearly all "ok"
    known = {
        (row[0], row[1]): row
        for row in SyncDay.objects.filter(account=account, day__range=(start, end), area__in=areas)
        .order_by()
        .values_list("day", "area", "status", "errcode", "reason", "attempts", "last_tried_at")
    }
    found: list[MissingDay] = []
    day = start
    while day <= end:
        for area in areas:
            if day < firsts[area]:
                continue
            row = known.get((day, area))
            label = labels[area]
            status = row[2] if row is not None else None
            if status == SyncDay.Status.OK:
                continue
            if row is not None and status == SyncDay.Status.MISSING:
                _day, _area, _status, errcode, reason, attempts, last_tried_at = row
                found.append(
                    MissingDay(
                        day,
                        area,
                        label,
                        "missing",
                        _("WeChat answered error %(code)s: %(reason)s") % {"code": errcode, "reason": reason},
                        errcode,
                        reason,
                        attempts,
                        last_tried_at,
                    )
                )
            elif day > until:
                found.append(MissingDay(day, area, label, "not_yet", not_yet))
            elif row is not None:
                found.append(MissingDay(day, area, label, "pending", pending))
            else:
                found.append(MissingDay(day, area, label, "not_synced", not_synced))
        day += datetime.timedelta(days=1)
    return found
