"""Retention of the delivery log (issue 26): deliveries older than
NOTIFICATIONS_DELIVERY_RETENTION_DAYS are deleted in bounded batches, like the message log
(messaging/retention.py). Sends keep their totals; only their per-message rows go.

A delivery still pending or being sent is never pruned, whatever its age (its send is not
over). Each batch is one short transaction deleting at most ``batch_size`` rows picked by the
created_at index, oldest first; nothing references a delivery, so the DELETE takes only the
locks of its own rows and a running send never waits on it. The next batch starts where the
last ended (the rows just deleted leave dead index entries until VACUUM).
"""

from __future__ import annotations

import datetime
import logging
import time

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .models import Delivery, DeliveryStatus

logger = logging.getLogger(__name__)

#: deliveries of a send still running: kept whatever their age
IN_FLIGHT = (DeliveryStatus.PENDING, DeliveryStatus.CALLING)


def deliveries_prune(
    *,
    older_than_days: int | None = None,
    batch_size: int = 5000,
    now: datetime.datetime | None = None,
    max_batches: int | None = None,
    pause_seconds: float = 0.0,
    max_seconds: float | None = None,
) -> int:
    """Delete deliveries created more than the retention ago; how many went. 0 days keeps all."""
    days = (
        int(getattr(settings, "NOTIFICATIONS_DELIVERY_RETENTION_DAYS", 180))
        if older_than_days is None
        else older_than_days
    )
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - datetime.timedelta(days=days)
    started = time.monotonic()
    deleted = batches = 0
    after: tuple[datetime.datetime, int] | None = None  # the last (created_at, id) looked at
    while max_batches is None or batches < max_batches:
        if max_seconds is not None and time.monotonic() - started >= max_seconds:
            break
        old = Delivery.objects.filter(created_at__lt=cutoff)
        if after is not None:
            old = old.filter(Q(created_at__gt=after[0]) | Q(created_at=after[0], id__gt=after[1]))
        batch = list(old.order_by("created_at", "id").values_list("created_at", "id", "status")[:batch_size])
        if not batch:
            break
        ids = [pk for _at, pk, status in batch if status not in IN_FLIGHT]
        if ids:
            with transaction.atomic():
                deleted += Delivery.objects.filter(id__in=ids).exclude(status__in=IN_FLIGHT).delete()[0]
        batches += 1
        after = (batch[-1][0], batch[-1][1])
        if pause_seconds:
            time.sleep(pause_seconds)
    if deleted:
        logger.info(
            "pruned %d deliveries created before %s in %d batches", deleted, cutoff.isoformat(), batches
        )
    return deleted
