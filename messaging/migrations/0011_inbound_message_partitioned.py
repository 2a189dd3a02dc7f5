"""PostgreSQL only: the message log becomes a table partitioned by month of `sent_at` (issue 30).

Why `sent_at` and the new unique (account, dedupe_key, sent_at): see `InboundMessage` and
ARCHITECTURE.md. On SQLite the table stays a plain table and only the unique constraint changes.

How an existing log moves, in ONE transaction, without losing a row:

1. `LOCK … IN EXCLUSIVE MODE`: the old table stays readable (the pages work throughout) but
   nothing writes to it. The callback does not wait: its rows wait in the Redis queue
   (`log_queue.py`) and the flushers write them when the lock is gone (a flusher whose INSERT
   times out keeps its entries pending and retries).
2. A partitioned copy: monthly partitions from the oldest row's month (at most 36 months back;
   older rows go to the DEFAULT partition) through three months ahead, and a DEFAULT partition.
3. `INSERT … SELECT` of every row with its id, then the indexes and foreign keys under
   temporary names (building them after the copy is the fast way round).
4. The row counts are compared (the migration fails and rolls back if they differ); the old
   table is dropped, the new one takes its name and the Django names of its indexes and
   constraints; the id sequence continues after the old one's last value.

The reverse copies the rows back into a plain table (keeping the lowest id of a push stored
more than once under different CreateTimes, which the old constraint forbids).
"""

import datetime
import logging
import time

from django.db import migrations, models
from django.utils import timezone

TABLE = "messaging_inboundmessage"
NEW = "messaging_inboundmessage_partitioned"
OLD = "messaging_inboundmessage_unpartitioned"
DEFAULT_PARTITION = f"{TABLE}_default"
AHEAD_MONTHS = 3
#: index builds (the GIN one above all) flush to disk less often than with PostgreSQL's
#: default 64 MB; for this transaction only
MAINTENANCE_WORK_MEM = "256MB"
BACK_MONTHS_AT_LEAST = 3
BACK_MONTHS_AT_MOST = 36

#: (temporary name, Django's name, definition) of what the table carries besides its columns
INDEXES = [
    (
        "messaging_inbound_p_account_openid",
        "messaging_i_account_e14e7b_idx",
        "(account_id, openid, received_at)",
    ),
    ("messaging_inbound_p_received_at", "messaging_inboundmessage_received_at_9566ebcd", "(received_at)"),
    (
        "messaging_inbound_p_keyword_rule",
        "messaging_inboundmessage_keyword_rule_id_5f3a29a6",
        "(keyword_rule_id)",
    ),
    (
        "messaging_inbound_p_search_bigrams",
        "messaging_inbound_search_bigrams",
        "USING gin (messaging_search_bigrams(content, reply_summary))",
    ),
]
FOREIGN_KEYS = [
    (
        "messaging_inbound_p_account_fk",
        "messaging_inboundmes_account_id_4de5f823_fk_accounts_",
        "FOREIGN KEY (account_id) REFERENCES accounts_officialaccount(id) DEFERRABLE INITIALLY DEFERRED",
    ),
    (
        "messaging_inbound_p_keyword_rule_fk",
        "messaging_inboundmes_keyword_rule_id_5f3a29a6_fk_messaging",
        "FOREIGN KEY (keyword_rule_id) REFERENCES messaging_keywordrule(id) DEFERRABLE INITIALLY DEFERRED",
    ),
]
logger = logging.getLogger("messaging.migrations")

OLD_UNIQUE = models.UniqueConstraint(
    fields=["account", "dedupe_key"], name="messaging_inbound_unique_per_account"
)
NEW_UNIQUE = models.UniqueConstraint(
    fields=["account", "dedupe_key", "sent_at"], name="messaging_inbound_unique_push"
)


def _month(moment: datetime.datetime) -> datetime.date:
    moment = moment.astimezone(datetime.UTC)
    return datetime.date(moment.year, moment.month, 1)


def _add_months(month: datetime.date, count: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 + count
    return datetime.date(index // 12, index % 12 + 1, 1)


def _bound(month: datetime.date) -> str:
    return f"'{month.isoformat()} 00:00:00+00'"


def _build(cursor, source: str, target: str, *, partitioned: bool, first: datetime.date | None) -> int:
    """Create `target` like `source`, copy every row, add the indexes under temporary names."""
    cursor.execute(
        f"CREATE TABLE {target} (LIKE {source} INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING STORAGE)"
        + (" PARTITION BY RANGE (sent_at)" if partitioned else "")
    )
    if partitioned:
        assert first is not None
        month, last = first, _add_months(_month(timezone.now()), AHEAD_MONTHS)
        while month <= last:
            cursor.execute(
                f"CREATE TABLE {TABLE}_p{month:%Y_%m} PARTITION OF {target} "
                f"FOR VALUES FROM ({_bound(month)}) TO ({_bound(_add_months(month, 1))})"
            )
            month = _add_months(month, 1)
        cursor.execute(f"CREATE TABLE {DEFAULT_PARTITION} PARTITION OF {target} DEFAULT")
        cursor.execute(f"INSERT INTO {target} SELECT * FROM {source}")  # noqa: S608 (our names)
        copied = cursor.rowcount
        _phase(f"{copied} rows copied into {target}")
        cursor.execute(f"ALTER TABLE {target} ADD CONSTRAINT {target}_pkey PRIMARY KEY (id, sent_at)")
        unique = "account_id, dedupe_key, sent_at"
    else:
        # the old constraint allows one row per (account, dedupe_key): keep the first
        cursor.execute(
            f"INSERT INTO {target} SELECT DISTINCT ON (account_id, dedupe_key) * FROM {source} "  # noqa: S608
            "ORDER BY account_id, dedupe_key, id"
        )
        copied = cursor.rowcount
        _phase(f"{copied} rows copied into {target}")
        cursor.execute(f"ALTER TABLE {target} ADD CONSTRAINT {target}_pkey PRIMARY KEY (id)")
        unique = "account_id, dedupe_key"
    cursor.execute(f"ALTER TABLE {target} ADD CONSTRAINT {target}_unique UNIQUE ({unique})")
    _phase("primary key and unique constraint built")
    for temporary, _name, definition in INDEXES:
        cursor.execute(f"CREATE INDEX {temporary} ON {target} {definition}")
        _phase(f"index {temporary} built")
    for temporary, _name, definition in FOREIGN_KEYS:
        cursor.execute(f"ALTER TABLE {target} ADD CONSTRAINT {temporary} {definition}")
    _phase("foreign keys checked")
    return copied


_clock = [0.0]


def _phase(done: str) -> None:
    """Log what is done and how long it took (an operator watching a long upgrade)."""
    now = time.monotonic()
    logger.warning("migration 0011: %s in %.1f s", done, now - _clock[0])
    _clock[0] = now


def _swap(cursor, source: str, target: str, *, unique_name: str) -> None:
    """Drop `source` (once its rows are all in `target`) and give `target` its names."""
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [source])
    (old_sequence,) = cursor.fetchone()
    cursor.execute(f"SELECT last_value, is_called FROM {old_sequence}")  # noqa: S608
    last_value, is_called = cursor.fetchone()
    cursor.execute(f"SELECT coalesce(max(id), 0) FROM {target}")  # noqa: S608
    (max_id,) = cursor.fetchone()
    cursor.execute(f"DROP TABLE {source}")
    cursor.execute(f"ALTER TABLE {target} RENAME TO {TABLE}")
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [TABLE])
    (sequence,) = cursor.fetchone()
    cursor.execute(f"ALTER SEQUENCE {sequence} RENAME TO {TABLE}_id_seq")
    used = max(last_value if is_called else last_value - 1, max_id)
    # the next id is the one the old table would have given
    cursor.execute(f"SELECT setval('{TABLE}_id_seq', %s, %s)", [max(used, 1), used >= 1])
    cursor.execute(f"ALTER TABLE {TABLE} RENAME CONSTRAINT {target}_pkey TO {TABLE}_pkey")
    cursor.execute(f"ALTER TABLE {TABLE} RENAME CONSTRAINT {target}_unique TO {unique_name}")
    for temporary, name, _definition in INDEXES:
        cursor.execute(f"ALTER INDEX {temporary} RENAME TO {name}")
    for temporary, name, _definition in FOREIGN_KEYS:
        cursor.execute(f"ALTER TABLE {TABLE} RENAME CONSTRAINT {temporary} TO {name}")
    cursor.execute(f"ANALYZE {TABLE}")
    _phase("old table dropped, names given, statistics gathered")


def _move(cursor, *, partitioned: bool) -> None:
    _clock[0] = time.monotonic()
    cursor.execute(f"SET LOCAL maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'")
    cursor.execute(f"LOCK TABLE {TABLE} IN EXCLUSIVE MODE")  # readers go on, writers wait
    cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {OLD}")
    cursor.execute(f"SELECT count(*), min(sent_at) FROM {OLD}")  # noqa: S608
    count, oldest = cursor.fetchone()
    first = None
    if partitioned:
        this_month = _month(timezone.now())
        first = min(_month(oldest) if oldest else this_month, _add_months(this_month, -BACK_MONTHS_AT_LEAST))
        first = max(first, _add_months(this_month, -BACK_MONTHS_AT_MOST))
    target = NEW if partitioned else f"{TABLE}_plain"
    copied = _build(cursor, OLD, target, partitioned=partitioned, first=first)
    if copied != count:
        raise RuntimeError(f"{TABLE}: {count} rows in the old table, {copied} copied; nothing changed")
    _swap(
        cursor,
        OLD,
        target,
        unique_name=(NEW_UNIQUE if partitioned else OLD_UNIQUE).name,
    )


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        model = apps.get_model("messaging", "InboundMessage")
        schema_editor.remove_constraint(model, OLD_UNIQUE)
        schema_editor.add_constraint(model, NEW_UNIQUE)
        return
    with schema_editor.connection.cursor() as cursor:
        _move(cursor, partitioned=True)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        model = apps.get_model("messaging", "InboundMessage")
        schema_editor.remove_constraint(model, NEW_UNIQUE)
        schema_editor.add_constraint(model, OLD_UNIQUE)
        return
    with schema_editor.connection.cursor() as cursor:
        _move(cursor, partitioned=False)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("messaging", "0010_kfoperation_claimed_at"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forward, backward, elidable=False)],
            state_operations=[
                migrations.RemoveConstraint(model_name="inboundmessage", name=OLD_UNIQUE.name),
                migrations.AddConstraint(model_name="inboundmessage", constraint=NEW_UNIQUE),
            ],
        ),
    ]
