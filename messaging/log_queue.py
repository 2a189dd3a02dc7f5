"""The message log's write-behind queue: one Redis round trip per push, rows flushed in batches.

Writing each log row on the request path cost the callback a PostgreSQL round trip and
most of its CPU (issue 13). Instead the push's de-duplication claim and its log row go
to Redis in ONE atomic script — both or neither — and flushers move the rows from a
Redis stream into PostgreSQL in batches (`INSERT … ON CONFLICT DO NOTHING`, ordinary
synchronous commit), acknowledging them only after the commit. The same statement
brings the conversation table's rows of the inserted rows' users up to date from the
batch itself, without reading the log back (`conversations.upkeep.insert_with_conversations`;
issue 30).

On PostgreSQL a batch's queued payloads (JSON objects, `row_payload`) go to the database as
they are, joined into one JSON array parameter and typed there (`INSERT … SELECT … FROM
jsonb_array_elements(…), jsonb_to_record(…)`, `_insert_queued`): the flusher thread shares its
web process's GIL with the request threads, and reading each entry into a model instance and
binding 16 parameters a row cost it about 35 ms of CPU per 500-row batch, the statement now
about 2 ms. A batch the database refuses (an unreadable entry, a row whose account or keyword
rule is gone, a value out of range) is read entry by entry in Python instead and written row
by row (`_write`), as every batch is on SQLite.

Nothing is lost when a process dies:

- The callback answers only after Redis accepted the claim and the row together. A web
  process that dies before that has sent no reply, so WeChat retries and the retry is
  handled as a new push; one that dies after it has already queued the row.
- A flusher reads with XREADGROUP, so what it read stays *pending* in the consumer group
  until its XACK, sent after the batch committed. A flusher that dies in between leaves
  the entries pending; any other flusher (a thread in every web process, and the
  `messaging.flush_message_log` beat task) takes them over with XAUTOCLAIM once they
  are CLAIM_IDLE_MS old and inserts them again; the unique (account, dedupe_key, sent_at)
  constraint turns a second insert of the same row into a no-op.
- What remains is Redis itself losing data (a crash without persistence, FLUSHDB):
  unflushed rows, normally well under a second of traffic, would be lost. Run Redis
  with `appendonly yes` (see docs/operations.md).
"""

from __future__ import annotations

import datetime
import functools
import json
import logging
import os
import socket
import threading
import time
import uuid

import redis
from django.conf import settings
from django.db import DataError, IntegrityError, close_old_connections, connection, transaction
from django.db.models import Field

from core import redis_clients

from .conversations import upkeep
from .models import InboundMessage

logger = logging.getLogger(__name__)

STREAM = "wxadmin:messaging:log-queue"
GROUP = "flushers"
BATCH_SIZE = 500
BLOCK_MS = int(redis_clients.QUEUE_READ_MAX_BLOCK_SECONDS * 1000)  # the read socket waits longer
#: pending entries older than this belong to a flusher presumed dead and are taken over
CLAIM_IDLE_MS = 30_000
RECLAIM_EVERY_SECONDS = 10.0
#: after a pass that found less than a full batch, wait this long: rows then arrive in
#: batches (one transaction and one Redis acknowledgement for many) instead of one by one
LINGER_SECONDS = 0.25

#: what writing a queued row may raise for the row itself (not the database's health): the
#: database refusing it, or a value Django cannot even bind (an `account_id` that is no
#: number). Such a row is dropped with an error, so it cannot block the queue.
REFUSED = (IntegrityError, DataError, ValueError, TypeError)

#: the columns the flusher writes (every column of the log but `id`); a column added later
#: gets its database default unless added here (test_log_queue_write checks)
ROW_FIELDS = (
    "account_id",
    "dedupe_key",
    "openid",
    "msg_type",
    "event",
    "content",
    "msg_id",
    "sent_at",
    "received_at",
    "route",
    "keyword_rule_id",
    "reply_type",
    "reply_summary",
    "reply_xml",
    "processing_ms",
    "raw",
)

# KEYS[1] the push's claim key, KEYS[2] the stream; ARGV reply, ttl, row (JSON).
# Returns the reply already stored under the claim (a retry), or nil: claimed and queued.
_CLAIM_AND_QUEUE = """
local current = redis.call('GET', KEYS[1])
if current then return current end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
redis.call('XADD', KEYS[2], '*', 'row', ARGV[3])
return false
"""
_scripts: dict[int, redis.commands.core.Script] = {}


def claim_and_queue(client: redis.Redis, *, key: str, reply: str, ttl: int, row: dict) -> bytes | None:
    """Claim the push and queue its log row atomically; return the earlier reply of a retry.

    Raises RedisError when Redis cannot be reached in time (the caller then writes
    through the database).
    """
    script = _scripts.get(id(client))
    if script is None:
        script = _scripts[id(client)] = client.register_script(_CLAIM_AND_QUEUE)
    payload = json.dumps(row, ensure_ascii=False, separators=(",", ":"))
    return script(keys=[key, STREAM], args=[reply, ttl, payload])


def row_payload(fields: dict) -> dict:
    """A log row's fields as the JSON the queue carries (times as epoch seconds)."""
    data = {name: fields[name] for name in ROW_FIELDS}
    data["sent_at"] = fields["sent_at"].timestamp()
    data["received_at"] = fields["received_at"].timestamp()
    return data


def _row_from_payload(data: dict) -> InboundMessage:
    values = {name: data[name] for name in ROW_FIELDS if name in data}
    for name in ("sent_at", "received_at"):
        values[name] = datetime.datetime.fromtimestamp(values[name], tz=datetime.UTC)
    return InboundMessage(**values)


#: the payload's times, epoch seconds, become timestamps in the database (`to_timestamp`)
_TIMES = ("sent_at", "received_at")


def _row_columns() -> list[tuple[str, Field]]:
    """(column, field) of each of ROW_FIELDS (attribute names: `account_id`, …)."""
    by_attname = {f.attname: f for f in InboundMessage._meta.concrete_fields}
    return [(by_attname[name].get_attname_column()[1] or name, by_attname[name]) for name in ROW_FIELDS]


@functools.cache
def _queued_insert_sql() -> str:
    """PostgreSQL: the log's INSERT of a batch of queued payloads as they are, one JSON array.

    Each entry is merged over the fields' defaults (a key missing from an entry queued by an
    older release gets its field's default, as `_row_from_payload` gives it), typed by
    `jsonb_to_record` (the columns' own types; the times epoch seconds), its times turned
    into timestamps. Parameters: the JSON array, the defaults (`_queued_defaults`)."""
    quote = connection.ops.quote_name
    fields = _row_columns()
    columns = ", ".join(quote(column) for column, _f in fields)
    values = ", ".join(
        f"to_timestamp(r.{quote(column)})" if f.attname in _TIMES else f"r.{quote(column)}"
        for column, f in fields
    )
    record = ", ".join(
        f"{quote(column)} {'double precision' if f.attname in _TIMES else f.db_type(connection)}"
        for column, f in fields
    )
    table = quote(InboundMessage._meta.db_table)
    return (
        f"INSERT INTO {table} ({columns}) SELECT {values} "  # noqa: S608 (our names)
        "FROM jsonb_array_elements(%s::jsonb) AS e(entry), "
        f"jsonb_to_record(%s::jsonb || e.entry) AS r({record}) "
        "ON CONFLICT DO NOTHING"
    )


@functools.cache
def _queued_defaults() -> str:
    """The defaults `InboundMessage(**values)` gives a field missing from a payload, as JSON
    (the times have none: an entry without them is unreadable)."""
    return json.dumps(
        {f.attname: f.get_default() for _column, f in _row_columns() if f.attname not in _TIMES},
        ensure_ascii=False,
    )


def _insert_queued(payloads: list[bytes]) -> int:
    """PostgreSQL: write these queued payloads (JSON objects, `row_payload`) as they are, joined
    into one JSON array parameter, with the conversation upsert (`upkeep.insert_with_conversations`):
    no per-row Python work in the web process. Returns the rows inserted. Raises what the
    database raises (IntegrityError, DataError: a refused row, an unreadable entry) and
    UnicodeDecodeError. Run it inside a transaction."""
    array = (b"[" + b",".join(payloads) + b"]").decode()
    return upkeep.insert_with_conversations(_queued_insert_sql(), [array, _queued_defaults()])


# --- Flushing ---------------------------------------------------------------------------------
def _flusher_client() -> redis.Redis:
    # Blocking reads wait up to BLOCK_MS: the queue-reads profile's socket waits longer.
    return redis_clients.client(redis_clients.Purpose.QUEUE_READS)


def _ensure_group(client: redis.Redis) -> None:
    try:
        # From the stream's first entry, so that rows queued before any flusher ran count.
        client.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def _write(rows: list[InboundMessage], *, batch_first: bool = True) -> None:
    """Insert a batch; a retry's row (same account and dedupe key) is skipped by the database.

    A row the database refuses (its account or keyword rule deleted since; a value out
    of range that got past the parser) is retried alone and then dropped with an error
    in the log, so that it cannot block the queue. Connection errors propagate: the
    entries stay pending and are written when the database is back. `batch_first=False`:
    the database already refused these rows as a batch, go straight to row by row.
    """
    if batch_first:
        try:
            with transaction.atomic():
                # the log rows and, from what was inserted, the conversation rows: one statement
                upkeep.insert_batch(rows)
            return
        except REFUSED:
            pass  # row by row, to keep the good ones
    for row in rows:
        for attempt in range(2):
            try:
                with transaction.atomic():
                    upkeep.insert_batch([row])
                break
            except REFUSED as exc:
                if attempt == 0 and row.keyword_rule_id is not None:
                    row.keyword_rule_id = None  # the rule is gone, the message is not
                    continue
                logger.error(
                    "message log: dropped a queued row of account %s that the database refuses (%s)",
                    row.account_id,
                    type(exc).__name__,
                )
                break


def _store(client: redis.Redis, entries) -> int:
    """Write these stream entries to the database, then acknowledge and delete them.

    PostgreSQL: the payloads as they are, one statement (`_insert_queued`). If the database
    refuses that batch, or on SQLite, each entry is read in Python (an unreadable one is
    dropped with an error) and written by `_write`. Returns the rows read."""
    if not entries:
        return 0
    ids, queued = [], []
    for entry_id, fields in entries:
        ids.append(entry_id)
        payload = fields.get(b"row") if fields else None
        if payload is None:
            continue  # deleted from the stream meanwhile: nothing to write
        queued.append((entry_id, payload))
    written, refused = 0, False
    if queued and connection.vendor == "postgresql":
        try:
            with transaction.atomic():
                _insert_queued([payload for _entry_id, payload in queued])
            written, queued = len(queued), []
        except (IntegrityError, DataError, UnicodeDecodeError):
            refused = True  # read in Python: drop the unreadable, keep the good ones
    if queued:
        rows = []
        for entry_id, payload in queued:
            try:
                rows.append(_row_from_payload(json.loads(payload)))
            except (ValueError, KeyError, TypeError, OverflowError):  # a time no datetime holds
                logger.error("message log: unreadable queue entry %r dropped", entry_id)
        if rows:
            # all read: the same batch would be refused again, row by row at once
            _write(rows, batch_first=not refused or len(rows) < len(queued))
        written = len(rows)
    pipe = client.pipeline(transaction=False)
    pipe.xack(STREAM, GROUP, *ids)
    pipe.xdel(STREAM, *ids)
    pipe.execute()
    return written


def _entries(reply) -> list:
    """The entries of our one stream in an XREADGROUP reply (RESP2 list or RESP3 map)."""
    if not reply:
        return []
    if isinstance(reply, dict):
        return next(iter(reply.values()))[0] if reply else []
    return reply[0][1]


def flush_once(
    client: redis.Redis, consumer: str, *, block_ms: int | None = None, claim_idle_ms: int | None = None
) -> int:
    """One pass: own pending entries, then (optionally) others' stale ones, then new ones.

    Returns the number of rows written. Entries stay pending if the write fails.
    """
    _ensure_group(client)
    written = 0
    # 1. What this consumer read before but could not write (database error).
    reply = client.xreadgroup(GROUP, consumer, {STREAM: "0"}, count=BATCH_SIZE)
    written += _store(client, _entries(reply))
    # 2. Entries a dead flusher left pending.
    if claim_idle_ms is not None:
        start = "0-0"
        while True:
            start, entries, *_deleted = client.xautoclaim(
                STREAM, GROUP, consumer, claim_idle_ms, start_id=start, count=BATCH_SIZE
            )
            written += _store(client, entries)
            if start in (b"0-0", "0-0"):
                break
    # 3. New entries.
    while True:
        reply = client.xreadgroup(GROUP, consumer, {STREAM: ">"}, count=BATCH_SIZE, block=block_ms)
        entries = _entries(reply)
        written += _store(client, entries)
        if len(entries) < BATCH_SIZE:
            return written
        block_ms = None


def flush(*, claim_idle_ms: int = CLAIM_IDLE_MS, consumer: str | None = None) -> int:
    """Write every queued row now (and those a dead flusher left); the beat task and tests."""
    return flush_once(
        _flusher_client(),
        consumer or f"flush-{socket.gethostname()}-{os.getpid()}",
        claim_idle_ms=claim_idle_ms,
    )


def queued() -> int:
    """Rows queued and not yet written (new and pending)."""
    return _flusher_client().xlen(STREAM)


class _Flusher(threading.Thread):
    """A daemon thread of a web process draining the queue into the database."""

    def __init__(self) -> None:
        super().__init__(name="message-log-flusher", daemon=True)
        self.consumer = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.pid = os.getpid()

    def run(self) -> None:
        client = _flusher_client()
        last_reclaim = 0.0
        while True:
            try:
                close_old_connections()
                now = time.monotonic()
                reclaim = now - last_reclaim > RECLAIM_EVERY_SECONDS
                if reclaim:
                    last_reclaim = now
                written = flush_once(
                    client, self.consumer, block_ms=BLOCK_MS, claim_idle_ms=CLAIM_IDLE_MS if reclaim else None
                )
                if written:
                    time.sleep(LINGER_SECONDS)
            except Exception:
                logger.exception("message log flusher: will retry in a second")
                time.sleep(1.0)


_flusher: _Flusher | None = None
_flusher_lock = threading.Lock()


def ensure_flusher() -> None:
    """Start this process's flusher thread if it is not running (after a fork too)."""
    global _flusher
    flusher = _flusher
    if flusher is not None and flusher.pid == os.getpid() and flusher.is_alive():
        return
    if not settings.MESSAGE_LOG_FLUSHER_THREAD:
        return
    with _flusher_lock:
        if _flusher is None or _flusher.pid != os.getpid() or not _flusher.is_alive():
            _flusher = _Flusher()
            _flusher.start()
