"""The content calendar (issue 25): per account or per entity, a month of drafts (the day they
were last changed), mass sends (the day they are scheduled for, or were sent or prepared) and
published articles, on Beijing days.

Sources are functions ``source(accounts, start, end) -> list[Entry]`` in `SOURCES`: drafts, mass
sends and publications (``Publication`` rows WeChat published, on the day the job finished).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import OfficialAccount

from .models import Draft, MassSend, MassStatus, Publication, PublicationStatus

BEIJING = ZoneInfo("Asia/Shanghai")
TITLE = gettext_lazy("Content calendar")


@dataclass(frozen=True)
class Entry:
    day: datetime.date
    at: datetime.datetime
    kind: str  # "draft", "mass", "published"
    label: str  # what kind of entry, in words
    title: str
    account: str
    url: str
    tone: str = ""


@dataclass
class Month:
    first: datetime.date
    weeks: list[list[tuple[datetime.date, list[Entry]]]] = field(default_factory=list)
    count: int = 0

    @property
    def previous(self) -> str:
        day = self.first - datetime.timedelta(days=1)
        return f"{day.year}-{day.month:02d}"

    @property
    def next(self) -> str:
        day = self.first + datetime.timedelta(days=32)
        return f"{day.year}-{day.month:02d}"


Source = Callable[[QuerySet[OfficialAccount], datetime.datetime, datetime.datetime], list[Entry]]


def _url(obj: Any) -> str:
    try:
        return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return ""


def _entry(obj: Any, at: datetime.datetime, kind: str, label: str, tone: str = "") -> Entry:
    local = at.astimezone(BEIJING)
    return Entry(
        day=local.date(),
        at=local,
        kind=kind,
        label=label,
        title=str(obj),
        account=str(obj.account.name),
        url=_url(obj),
        tone=tone,
    )


def drafts(
    accounts: QuerySet[OfficialAccount], start: datetime.datetime, end: datetime.datetime
) -> list[Entry]:
    rows = Draft.objects.filter(
        account__in=accounts, updated_at__gte=start, updated_at__lt=end
    ).select_related("account")
    return [_entry(d, d.updated_at, "draft", _("Draft")) for d in rows[:500]]


def mass_sends(
    accounts: QuerySet[OfficialAccount], start: datetime.datetime, end: datetime.datetime
) -> list[Entry]:
    """Scheduled sends on their day, sent ones on the day they went out, the others (being
    prepared, awaiting approval) on the day they were created."""
    rows = (
        MassSend.objects.filter(account__in=accounts)
        .exclude(status=MassStatus.CANCELLED)
        .filter(
            Q(scheduled_at__gte=start, scheduled_at__lt=end)
            | Q(sent_at__gte=start, sent_at__lt=end)
            | Q(sent_at__isnull=True, scheduled_at__isnull=True, created_at__gte=start, created_at__lt=end)
        )
        .select_related("account")
    )
    out = []
    for send in rows[:500]:
        at = send.sent_at or send.scheduled_at or send.created_at
        tone = {
            MassStatus.SCHEDULED: "warning",
            MassStatus.FAILED: "danger",
            MassStatus.FINISHED: "success",
            MassStatus.SENT: "success",
        }.get(MassStatus(send.status), "")
        out.append(
            _entry(
                send, at, "mass", _("Mass send · %(status)s") % {"status": send.get_status_display()}, tone
            )
        )
    return out


def publications(
    accounts: QuerySet[OfficialAccount], start: datetime.datetime, end: datetime.datetime
) -> list[Entry]:
    """Articles WeChat published (freepublish), on the day the job finished."""
    rows = Publication.objects.filter(
        account__in=accounts,
        status=PublicationStatus.PUBLISHED,
        finished_at__gte=start,
        finished_at__lt=end,
    ).select_related("account")
    return [
        _entry(row, row.finished_at, "published", _("Published"), "success")
        for row in rows[:500]
        if row.finished_at is not None
    ]


SOURCES: list[Source] = [drafts, mass_sends, publications]


def month_of(user: Any, accounts: QuerySet[OfficialAccount], first: datetime.date) -> Month:
    """The month starting at ``first`` for ``accounts`` (already scoped to ``user``), Monday-first weeks."""
    start = datetime.datetime.combine(first, datetime.time(), BEIJING)
    following = (first + datetime.timedelta(days=32)).replace(day=1)
    end = datetime.datetime.combine(following, datetime.time(), BEIJING)
    entries: dict[datetime.date, list[Entry]] = {}
    month = Month(first=first)
    for source in SOURCES:
        for entry in source(accounts, start, end):
            entries.setdefault(entry.day, []).append(entry)
            month.count += 1
    day = first - datetime.timedelta(days=first.weekday())
    while day < following:
        week = []
        for _i in range(7):
            week.append((day, sorted(entries.get(day, []), key=lambda e: e.at)))
            day += datetime.timedelta(days=1)
        month.weeks.append(week)
    return month
