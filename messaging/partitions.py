"""The message log's monthly partitions on PostgreSQL (issue 30): created ahead, dropped whole.

`messaging_inboundmessage` is partitioned by RANGE of `sent_at` (WeChat's CreateTime; why
that key: `InboundMessage`'s docstring), one partition per calendar month in UTC named
`messaging_inboundmessage_pYYYY_MM`, plus `messaging_inboundmessage_default` for a row whose
CreateTime lies in no monthly partition (a device clock years off, a month not created yet):
no row is ever refused for its date.

- `ensure_ahead` (the beat task `messaging.partitions_ensure_ahead`, daily) creates the months
  missing from the retention cutoff's month through `months` ahead. Each is created as a
  table of its own and ATTACHed, which locks the parent only in SHARE UPDATE EXCLUSIVE mode:
  the pages and the flushers' INSERTs go on. Rows of that month already in the DEFAULT
  partition move into it in the same transaction.
- `drop_older_than` (called by retention) DETACHes and drops the months that end on or
  before the cutoff. DETACH … CONCURRENTLY is not allowed while the table has a DEFAULT
  partition (PostgreSQL's rule), so DETACH takes the parent's ACCESS EXCLUSIVE lock for
  the moment it needs; `lock_timeout` bounds the wait (a page query running longer makes
  the drop give up until the next run rather than stall the inserts queued behind it).
  The callback itself never waits: its rows go to Redis, and only a flusher's batch waits
  at most `LOCK_TIMEOUT_MS`. The DROP of the detached table holds no lock on the parent.

On SQLite (and on a PostgreSQL table not partitioned) both functions do nothing and return [].
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import re

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from .models import InboundMessage

logger = logging.getLogger(__name__)

TABLE = InboundMessage._meta.db_table
DEFAULT_PARTITION = f"{TABLE}_default"
AHEAD_MONTHS = 3
#: how long creating or dropping a partition waits for a lock before giving up until the next run
LOCK_TIMEOUT_MS = 1000
_NAME_RE = re.compile(rf"^{TABLE}_p(\d{{4}})_(\d{{2}})$")


@dataclasses.dataclass(frozen=True, order=True)
class Partition:
    """One month of the log: rows whose `sent_at` is in [start, end) (UTC)."""

    start: datetime.date
    name: str

    @property
    def end(self) -> datetime.date:
        return add_months(self.start, 1)


def month_of(moment: datetime.datetime | datetime.date) -> datetime.date:
    """The first day of the month (UTC) that `moment` falls in."""
    if isinstance(moment, datetime.datetime):
        moment = moment.astimezone(datetime.UTC).date()
    return moment.replace(day=1)


def add_months(month: datetime.date, count: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 + count
    return datetime.date(index // 12, index % 12 + 1, 1)


def partition_name(month: datetime.date) -> str:
    return f"{TABLE}_p{month:%Y_%m}"


def _bound(day: datetime.date) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.UTC)


def is_partitioned() -> bool:
    """Whether the log is a partitioned table (PostgreSQL after migration 0011)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])
        row = cursor.fetchone()
    return row is not None and row[0] == "p"


def monthly_partitions() -> list[Partition]:
    """The monthly partitions attached to the log, oldest first (not the DEFAULT one)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(%s)",
            [TABLE],
        )
        names = [name for (name,) in cursor.fetchall()]
    found = []
    for name in names:
        match = _NAME_RE.match(name)
        if match:
            found.append(Partition(datetime.date(int(match[1]), int(match[2]), 1), name))
    return sorted(found)


def _lock_not_granted(exc: OperationalError) -> bool:
    """Whether PostgreSQL gave up waiting for a lock (lock_timeout: SQLSTATE 55P03)."""
    return getattr(exc.__cause__, "sqlstate", None) == "55P03"


def _lock_timeout(cursor: CursorWrapper) -> None:
    cursor.execute(f"SET LOCAL lock_timeout = {int(LOCK_TIMEOUT_MS)}")


def _create(month: datetime.date) -> str:
    """Create and attach one month's partition, moving its rows out of the DEFAULT partition."""
    name = partition_name(month)
    start, end = _bound(month), _bound(add_months(month, 1))
    with transaction.atomic(), connection.cursor() as cursor:
        _lock_timeout(cursor)
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [DEFAULT_PARTITION])
        (has_default,) = cursor.fetchone()
        cursor.execute(f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING STORAGE)")
        if has_default:
            # writers of the DEFAULT partition wait this transaction out, so that ATTACH
            # (which checks that no row of the month is left there) cannot fail on a new one
            cursor.execute(f"LOCK TABLE {DEFAULT_PARTITION} IN EXCLUSIVE MODE")
            cursor.execute(
                f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} "  # noqa: S608 (our names)
                "WHERE sent_at >= %s AND sent_at < %s RETURNING *) "
                f"INSERT INTO {name} SELECT * FROM moved",
                [start, end],
            )
            if cursor.rowcount:
                logger.info(
                    "message log: %d rows moved from the default partition to %s", cursor.rowcount, name
                )
        # the CHECK spares ATTACH a scan of the new table; it is dropped once attached
        cursor.execute(
            f"ALTER TABLE {name} ADD CONSTRAINT {name}_range CHECK (sent_at >= %s AND sent_at < %s)",
            [start, end],
        )
        cursor.execute(
            f"ALTER TABLE {TABLE} ATTACH PARTITION {name} FOR VALUES FROM (%s) TO (%s)", [start, end]
        )
        cursor.execute(f"ALTER TABLE {name} DROP CONSTRAINT {name}_range")
    return name


def ensure_ahead(months: int = AHEAD_MONTHS, *, now: datetime.datetime | None = None) -> list[str]:
    """Create the missing monthly partitions from the oldest needed through `months` ahead.

    The oldest needed is the month of the retention cutoff (MESSAGE_RETENTION_DAYS before
    `now`; with a retention of 0, the current month). Months already there are left alone.
    Returns the names created. A month whose lock is not granted within LOCK_TIMEOUT_MS is
    skipped with a warning (the next run creates it; until then its rows go to the DEFAULT
    partition).
    """
    if not is_partitioned():
        return []
    now = now or timezone.now()
    current = month_of(now)
    days = settings.MESSAGE_RETENTION_DAYS
    month = month_of(now - datetime.timedelta(days=days)) if days > 0 else current
    last = add_months(current, months)
    existing = {partition.start for partition in monthly_partitions()}
    created = []
    while month <= last:
        if month not in existing:
            try:
                created.append(_create(month))
            except OperationalError as exc:
                if not _lock_not_granted(exc):
                    raise
                logger.warning("message log: partition %s not created (lock timeout)", partition_name(month))
        month = add_months(month, 1)
    if created:
        logger.info("message log: partitions created: %s", ", ".join(created))
    return created


def older_than(cutoff: datetime.date) -> list[Partition]:
    """The monthly partitions that end on or before `cutoff`: all their rows were sent before it."""
    return [partition for partition in monthly_partitions() if partition.end <= cutoff]


def drop_older_than(cutoff: datetime.date) -> list[str]:
    """Detach and drop the monthly partitions that end on or before `cutoff` (UTC midnight).

    Every row of such a partition was sent before the cutoff. Returns the names dropped; a
    partition whose lock is not granted within LOCK_TIMEOUT_MS stays until the next run.
    """
    if not is_partitioned():
        return []
    dropped = []
    for partition in older_than(cutoff):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                _lock_timeout(cursor)
                cursor.execute(f"ALTER TABLE {TABLE} DETACH PARTITION {partition.name}")
        except OperationalError as exc:
            if not _lock_not_granted(exc):
                raise
            logger.warning("message log: partition %s not dropped (lock timeout)", partition.name)
            continue
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE {partition.name}")  # detached: no lock on the log
        dropped.append(partition.name)
    if dropped:
        logger.info(
            "message log: partitions dropped (older than %s): %s", cutoff.isoformat(), ", ".join(dropped)
        )
    return dropped


#: below this many rows (by the planner's estimate) a partition's rows are counted exactly
EXACT_COUNT_BELOW = 100_000


def estimated_rows(name: str) -> int:
    """The rows of one partition: the planner's estimate (pg_class.reltuples, kept by
    autovacuum's ANALYZE), or an exact count when that is small or unknown."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)", [name])
        row = cursor.fetchone()
        if row is None:
            return 0
        if row[0] >= EXACT_COUNT_BELOW:
            return int(row[0])
        cursor.execute(f"SELECT count(*) FROM {name}")  # noqa: S608 (our name)
        (rows,) = cursor.fetchone()
    return int(rows)
