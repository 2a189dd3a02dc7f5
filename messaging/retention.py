"""Retention of the message log: whole months dropped on PostgreSQL, rows deleted on SQLite.

On PostgreSQL the log is partitioned by month (`messaging/partitions.py`): retention drops
the partitions that end on or before the cutoff (MESSAGE_RETENTION_DAYS ago) and deletes no
row of them — no DELETE, no dead rows for VACUUM, no WAL per row. A message is therefore kept
at least MESSAGE_RETENTION_DAYS and at most about a month longer (until its whole month is
past the cutoff): the retention is a minimum, not a day-exact deadline (docs/operations.md).
Rows of the DEFAULT partition (a CreateTime outside every month created) are deleted in
batches once received before the cutoff. On SQLite rows are deleted in batches.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from . import partitions
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
    """Remove log rows older than MESSAGE_RETENTION_DAYS; returns how many went.

    PostgreSQL (partitioned): the months entirely before the cutoff are dropped (their row
    count is the planner's estimate when large), then the DEFAULT partition's old rows deleted in
    batches. Otherwise each batch is its own short transaction deleting at most
    `batch_size` rows picked by the received_at index, oldest first; nothing references a
    log row and DELETE takes only the locks of the rows it deletes, so the callback's
    INSERTs never wait on it. The next batch starts where the last one ended (not at the
    start of the index, where the rows just deleted still leave dead entries until VACUUM).
    `pause_seconds` between batches leaves the disk to the callback; `max_seconds` ends a
    run early (the next run goes on). A second run right after finds nothing left.
    """
    days = settings.MESSAGE_RETENTION_DAYS if older_than_days is None else older_than_days
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - datetime.timedelta(days=days)
    if partitions.is_partitioned():
        return _drop_months(cutoff) + _prune_default_partition(
            cutoff,
            batch_size=batch_size,
            max_batches=max_batches,
            pause_seconds=pause_seconds,
            max_seconds=max_seconds,
        )
    return _delete_rows(
        cutoff,
        batch_size=batch_size,
        max_batches=max_batches,
        pause_seconds=pause_seconds,
        max_seconds=max_seconds,
    )


def _drop_months(cutoff: datetime.datetime) -> int:
    """Drop the months that end on or before the cutoff's day (UTC); their estimated rows."""
    cutoff_day = cutoff.astimezone(datetime.UTC).date()
    estimates = {p.name: partitions.estimated_rows(p.name) for p in partitions.older_than(cutoff_day)}
    dropped = partitions.drop_older_than(cutoff_day)
    removed = sum(estimates.get(name, 0) for name in dropped)
    if dropped:
        logger.info("message log: dropped %s (about %d rows)", ", ".join(dropped), removed)
    return removed


def _in_batches(
    delete_batch: Callable[[], int],
    *,
    max_batches: int | None,
    pause_seconds: float,
    max_seconds: float | None,
) -> tuple[int, int]:
    """Call `delete_batch` (one short transaction, returns rows deleted) until it finds
    nothing, `max_batches` ran or `max_seconds` passed, pausing between batches; returns
    (rows deleted, batches)."""
    started = time.monotonic()
    deleted = batches = 0
    while max_batches is None or batches < max_batches:
        if max_seconds is not None and time.monotonic() - started >= max_seconds:
            break
        count = delete_batch()
        if not count:
            break
        deleted += count
        batches += 1
        if pause_seconds:
            time.sleep(pause_seconds)
    return deleted, batches


def _prune_default_partition(
    cutoff: datetime.datetime,
    *,
    batch_size: int,
    max_batches: int | None,
    pause_seconds: float,
    max_seconds: float | None,
) -> int:
    """Delete the DEFAULT partition's rows received before the cutoff, in bounded batches."""
    table = partitions.DEFAULT_PARTITION

    def delete_batch() -> int:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} "  # noqa: S608 (our name)
                "WHERE received_at < %s ORDER BY received_at LIMIT %s)",
                [cutoff, batch_size],
            )
            return int(cursor.rowcount)

    deleted, _batches = _in_batches(
        delete_batch, max_batches=max_batches, pause_seconds=pause_seconds, max_seconds=max_seconds
    )
    if deleted:
        logger.info(
            "pruned %d messages of the default partition received before %s", deleted, cutoff.isoformat()
        )
    return deleted


def _delete_rows(
    cutoff: datetime.datetime,
    *,
    batch_size: int,
    max_batches: int | None,
    pause_seconds: float,
    max_seconds: float | None,
) -> int:
    """Delete rows received before the cutoff in batches (SQLite, or a table not partitioned)."""
    resume_at: datetime.datetime | None = None

    def delete_batch() -> int:
        nonlocal resume_at
        old = InboundMessage.objects.filter(received_at__lt=cutoff)
        if resume_at is not None:
            old = old.filter(received_at__gte=resume_at)
        batch = list(old.order_by("received_at", "id").values_list("received_at", "id")[:batch_size])
        if not batch:
            return 0
        with transaction.atomic():
            count, _detail = InboundMessage.objects.filter(id__in=[pk for _at, pk in batch]).delete()
        resume_at = batch[-1][0]
        return count

    deleted, batches = _in_batches(
        delete_batch, max_batches=max_batches, pause_seconds=pause_seconds, max_seconds=max_seconds
    )
    if deleted:
        logger.info(
            "pruned %d messages received before %s in %d batches", deleted, cutoff.isoformat(), batches
        )
    return deleted
