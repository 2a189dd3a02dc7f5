"""The daily message counts behind the dashboard, recounted from the log by a periodic task.

The callback does not touch them (its hot path stays one INSERT). Every run recounts whole
local days from the day of the previous run (minus a margin for rows committed late), so a
run is idempotent, repairs itself after the worker was down, and reads only the recent days
of the log through its received_at index.
"""

from __future__ import annotations

import datetime

from django.db import transaction
from django.db.models import Count, Max
from django.db.models.functions import TruncDate
from django.utils import timezone

from .models import InboundMessage, MessageDailyCount

#: the first run counts this many days back (the dashboard shows 14)
BACKFILL_DAYS = 14
#: rows may commit a little after their received_at; recount from a bit before the last run
LATE_COMMIT_MARGIN = datetime.timedelta(minutes=10)


def _start_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def message_counts_refresh(
    *, now: datetime.datetime | None = None, since: datetime.date | None = None
) -> int:
    """Recount messages per account and local day from `since` (default: see module) on.

    Replaces the rollup rows of those days in one transaction, so a reader sees the old
    or the new counts, never a mix. Returns the number of (account, day) rows written.
    """
    now = now or timezone.now()
    if since is None:
        last = MessageDailyCount.objects.aggregate(last=Max("counted_at"))["last"]
        since = (
            timezone.localdate(last - LATE_COMMIT_MARGIN)
            if last is not None
            else timezone.localdate(now) - datetime.timedelta(days=BACKFILL_DAYS - 1)
        )
    counts = (
        InboundMessage.objects.filter(received_at__gte=_start_of(since))
        .order_by()
        .annotate(day=TruncDate("received_at", tzinfo=timezone.get_current_timezone()))
        .values_list("account_id", "day")
        .annotate(n=Count("id"))
    )
    rows = [
        MessageDailyCount(account_id=account_id, day=day, count=n, counted_at=now)
        for account_id, day, n in counts
    ]
    with transaction.atomic():
        MessageDailyCount.objects.filter(day__gte=since).delete()
        # an upsert, so that two runs at once (two beat hosts) do not collide on a day
        MessageDailyCount.objects.bulk_create(
            rows,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["account", "day"],
            update_fields=["count", "counted_at"],
        )
    return len(rows)
