"""Retention of the message log: old rows are deleted in bounded batches."""

from __future__ import annotations

import datetime
import logging
import time

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import InboundMessage

logger = logging.getLogger(__name__)


def messages_prune(
    *,
    older_than_days: int | None = None,
    batch_size: int = 1000,
    now: datetime.datetime | None = None,
    max_batches: int | None = None,
    pause_seconds: float = 0.0,
    max_seconds: float | None = None,
) -> int:
    """Delete log rows received more than MESSAGE_RETENTION_DAYS ago, in bounded batches.

    Each batch is its own short transaction deleting at most `batch_size` rows picked by
    the received_at index, oldest first; nothing references a log row and DELETE takes
    only the locks of the rows it deletes, so the callback's INSERTs never wait on it.
    The next batch starts where the last one ended (not at the start of the index, where
    the rows just deleted still leave dead entries until VACUUM). `pause_seconds` between
    batches leaves the disk to the callback; `max_seconds` ends a run early (the next run
    goes on). A second run right after finds nothing left. Returns how many rows went.
    """
    days = settings.MESSAGE_RETENTION_DAYS if older_than_days is None else older_than_days
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - datetime.timedelta(days=days)
    started = time.monotonic()
    deleted = batches = 0
    resume_at: datetime.datetime | None = None
    while max_batches is None or batches < max_batches:
        if max_seconds is not None and time.monotonic() - started >= max_seconds:
            break
        old = InboundMessage.objects.filter(received_at__lt=cutoff)
        if resume_at is not None:
            old = old.filter(received_at__gte=resume_at)
        batch = list(old.order_by("received_at", "id").values_list("received_at", "id")[:batch_size])
        if not batch:
            break
        with transaction.atomic():
            count, _detail = InboundMessage.objects.filter(id__in=[pk for _at, pk in batch]).delete()
        deleted += count
        batches += 1
        resume_at = batch[-1][0]
        if pause_seconds:
            time.sleep(pause_seconds)
    if deleted:
        logger.info(
            "pruned %d messages received before %s in %d batches", deleted, cutoff.isoformat(), batches
        )
    return deleted
