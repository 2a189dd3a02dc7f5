"""Keeping the conversation table (`Conversation`) true to the log and the replies.

Issue 30. One statement recomputes the rows of a set of (account, OpenID) pairs from the
message log and the replies — `INSERT … SELECT … ON CONFLICT (account, openid) DO UPDATE`,
with correlated index lookups per pair (the (account, openid, received_at) and
(account, openid, created_at) indexes), never a query per message:

- the log flusher does not: `insert_batch` (below) updates the rows from the batch it
  inserts, in the INSERT's own statement, and runs `refresh` only for the rare pair whose
  count needs the log;
- the callback's write-through path (Redis down) runs it for its one row;
- sending a reply and every change of a reply's state that moves the answer (failed,
  stuck) run it for that user;
- `conversations_repair` (beat, every few minutes) runs it for every pair with a message
  or reply in the last hour — whatever a crash between two of the above left behind;
- migration 0008 runs it for every pair of the log (existing installs).

Because every run recomputes from the sources instead of adding to counters, running it
twice — a repair after the flusher — gives the same row (idempotent). The flusher's batch
adds to counters, but only for the rows its INSERT actually inserted: a batch a dead
flusher left pending and another flusher writes again inserts nothing and changes nothing.

What a row says:

- `last_inbound_at`: the user's last message (events are not messages: a click or a
  subscription does not open the 48-hour window, docs/wechat-protocol.md §c);
- `last_answer_at`: the later of the last automatic reply in the log (keyword, welcome or
  click reply: `reply_type` set, issue 29 "an automatic reply counts as answered") and the
  last reply from the workspace that is sent or on its way (a failed one answers nothing);
- `unanswered`: the user's messages after that answer which got no automatic reply,
  looked for within LOOKBACK (older ones are in the log, not in the list);
- `window_closes_at`: 48 hours after the last message (protocol §c);
- `preview`/`last_message_at`/`preview_outbound`: the newest message either way.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence

from django.db import connection
from django.db.models import Model
from django.db.models.constants import OnConflict
from django.db.models.sql import InsertQuery
from django.utils import timezone

from messaging.models import InboundMessage

from .models import PREVIEW_LENGTH, Conversation, OutboundMessage, OutboundStatus

MESSAGE_WINDOW = datetime.timedelta(hours=48)
#: answers and unanswered messages are looked for this far back (the list shows 7 days)
LOOKBACK = datetime.timedelta(days=8)
#: the repair task looks at pairs with activity this far back
REPAIR_SINCE = datetime.timedelta(hours=1)
#: pairs per statement (each becomes a VALUES row with two parameters)
CHUNK = 1000

Key = tuple[int, str]

_COUNTED = (OutboundStatus.PENDING, OutboundStatus.SENDING, OutboundStatus.SENT)


def _later(a: str, b: str) -> str:
    """The later of two timestamps, NULL-safe, on PostgreSQL and SQLite alike."""
    return f"CASE WHEN {a} IS NULL THEN {b} WHEN {b} IS NULL THEN {a} WHEN {a} >= {b} THEN {a} ELSE {b} END"


def _statement(keys_sql: str) -> str:
    inbound = InboundMessage._meta.db_table
    outbound = OutboundMessage._meta.db_table
    table = Conversation._meta.db_table
    pg = connection.vendor == "postgresql"
    preview_in = f"SUBSTR(li_content, 1, {PREVIEW_LENGTH})"
    preview_out = f"SUBSTR(lo_text, 1, {PREVIEW_LENGTH})"
    statuses = ", ".join(["%(s0)s", "%(s1)s", "%(s2)s"])
    same = "m.account_id = k.account_id AND m.openid = k.openid"
    same_o = "o.account_id = k.account_id AND o.openid = k.openid"
    answer = _later("auto_at", "out_at")
    # SQLite: the date part moved by 48 hours, the microseconds kept as Django wrote them
    window = (
        "li_at + INTERVAL '48 hours'"
        if pg
        else "STRFTIME('%%Y-%%m-%%d %%H:%%M:%%S', li_at, '+48 hours') || SUBSTR(li_at, 20)"
    )
    # Only table names, fixed SQL and the caller's keys query go into the string; values
    # travel as parameters.
    return f"""
INSERT INTO {table} (account_id, openid, last_inbound_at, last_answer_at, unanswered,
                     window_closes_at, last_message_at, preview, preview_outbound, updated_at)
SELECT account_id, openid, li_at, {answer},
       (SELECT COUNT(*) FROM {inbound} m WHERE m.account_id = f.account_id AND m.openid = f.openid
          AND m.msg_type <> 'event' AND m.reply_type = ''
          AND m.received_at > {_later(answer, "%(since)s")}),
       CASE WHEN li_at IS NULL THEN NULL ELSE {window} END,
       {_later("li_at", "lo_at")},
       CASE WHEN lo_at IS NOT NULL AND (li_at IS NULL OR lo_at > li_at)
            THEN COALESCE({preview_out}, '') ELSE COALESCE({preview_in}, '') END,
       CASE WHEN lo_at IS NOT NULL AND (li_at IS NULL OR lo_at > li_at) THEN TRUE ELSE FALSE END,
       %(now)s
FROM (
  SELECT k.account_id, k.openid,
    (SELECT m.received_at FROM {inbound} m WHERE {same} AND m.msg_type <> 'event'
       ORDER BY m.received_at DESC LIMIT 1) AS li_at,
    (SELECT m.content FROM {inbound} m WHERE {same} AND m.msg_type <> 'event'
       ORDER BY m.received_at DESC LIMIT 1) AS li_content,
    (SELECT MAX(m.received_at) FROM {inbound} m WHERE {same} AND m.reply_type <> ''
       AND m.received_at > %(since)s) AS auto_at,
    (SELECT MAX(o.created_at) FROM {outbound} o WHERE {same_o} AND o.status IN ({statuses})
       AND o.created_at > %(since)s) AS out_at,
    (SELECT o.created_at FROM {outbound} o WHERE {same_o} ORDER BY o.created_at DESC LIMIT 1) AS lo_at,
    (SELECT CASE WHEN o.text <> '' THEN o.text WHEN o.news_title <> '' THEN o.news_title
                 ELSE '[' || o.msg_type || ']' END
       FROM {outbound} o WHERE {same_o} ORDER BY o.created_at DESC LIMIT 1) AS lo_text
  FROM ({keys_sql}) k
  {"OFFSET 0" if pg else "LIMIT -1 OFFSET 0"}
) f
WHERE true
ON CONFLICT (account_id, openid) DO UPDATE SET
  last_inbound_at = EXCLUDED.last_inbound_at, last_answer_at = EXCLUDED.last_answer_at,
  unanswered = EXCLUDED.unanswered, window_closes_at = EXCLUDED.window_closes_at,
  last_message_at = EXCLUDED.last_message_at, preview = EXCLUDED.preview,
  preview_outbound = EXCLUDED.preview_outbound, updated_at = EXCLUDED.updated_at
"""  # noqa: S608


def _params(now: datetime.datetime) -> dict:
    ops = connection.ops
    return {
        "since": ops.adapt_datetimefield_value(now - LOOKBACK),
        "now": ops.adapt_datetimefield_value(now),
        "s0": _COUNTED[0].value,
        "s1": _COUNTED[1].value,
        "s2": _COUNTED[2].value,
    }


def refresh(keys: Iterable[Key], *, now: datetime.datetime | None = None) -> int:
    """Recompute the conversations of these (account id, OpenID) pairs; one statement per
    CHUNK pairs. Returns the number of pairs."""
    unique = sorted(set(keys))  # a stable order: two writers lock rows in the same order
    now = now or timezone.now()
    for start in range(0, len(unique), CHUNK):
        chunk = unique[start : start + CHUNK]
        params = _params(now)
        rows = []
        for n, (account_id, openid) in enumerate(chunk):
            params[f"a{n}"], params[f"o{n}"] = account_id, openid
            rows.append(f"SELECT %(a{n})s AS account_id, %(o{n})s AS openid")
        keys_sql = " UNION ALL ".join(rows)
        with connection.cursor() as cursor:
            cursor.execute(_statement(keys_sql), params)
    return len(unique)


def refresh_since(since: datetime.datetime, *, now: datetime.datetime | None = None, using=None) -> int:
    """Recompute every pair with a message or a reply since `since` (the repair task;
    with the epoch, the whole log: the data migration). One statement."""
    now = now or timezone.now()
    inbound = InboundMessage._meta.db_table
    outbound = OutboundMessage._meta.db_table
    keys_sql = (
        f"SELECT account_id, openid FROM {inbound} WHERE received_at > %(from)s "  # noqa: S608
        f"UNION SELECT account_id, openid FROM {outbound} WHERE created_at > %(from)s"
    )
    params = {**_params(now), "from": connection.ops.adapt_datetimefield_value(since)}
    with (using or connection).cursor() as cursor:
        cursor.execute(_statement(keys_sql), params)
        return cursor.rowcount


def repair(*, now: datetime.datetime | None = None, since: datetime.timedelta = REPAIR_SINCE) -> int:
    """The periodic repair: pairs active in the last `since` are recomputed from the log."""
    now = now or timezone.now()
    return refresh_since(now - since, now=now)


def refresh_for_messages(rows: Iterable[InboundMessage]) -> int:
    """After the flusher wrote a batch: its pairs, one statement."""
    return refresh((row.account_id, row.openid) for row in rows)


# --- The flusher's batch: log rows and conversations in one statement ----------------------------
def _batch_statement(insert_sql: str) -> str:
    """The log's batch INSERT as a CTE, the conversation rows updated from what it inserted.

    Only the rows the INSERT returns count (a retry skipped by ON CONFLICT DO NOTHING is
    not returned). The batch's pairs' conversation rows are locked first, in key order
    (two flushers wait for each other instead of overwriting each other's counts), then
    each value follows from the row and the batch alone — no read of the log:

    - last inbound and answer: the later of the row's and the batch's (an answer older
      than LOOKBACK is dropped, as `refresh` drops it);
    - unanswered: the batch's unanswered messages after the answer (or LOOKBACK), plus
      the row's count when none of the row's messages can be before that bound (its
      count was 0, or its last message is not after the bound: none is left) and the
      answer did not move. Otherwise (an automatic reply that arrived out of order,
      before a message already counted) which old messages remain after it is only in
      the log: such pairs are returned and recomputed by `refresh`. One approximation: a
      count with no answer within LOOKBACK keeps messages that have since passed
      LOOKBACK (8 days) until `repair` recomputes the pair — it does within minutes, the
      pair being active;
    - a pair whose row another flusher inserted after this statement's snapshot (two
      flushers, one new user): the ON CONFLICT update cannot merge the two batches, so
      such pairs (updated, not locked beforehand) are returned and recomputed too;
    - preview and last message time: the batch's newest message if it is at least as new
      as the row's last message (at equal times a message wins over a reply, as in
      `refresh`).
    """
    table = Conversation._meta.db_table
    preview = f"SUBSTR(li_content, 1, {PREVIEW_LENGTH})"
    return f"""
WITH ins AS (
  {insert_sql}
  RETURNING account_id, openid, msg_type, reply_type, received_at, content
),
p AS (SELECT %s::timestamptz AS since, %s::timestamptz AS now),
b AS (
  SELECT account_id, openid,
    MAX(received_at) FILTER (WHERE msg_type <> 'event') AS li_at,
    (ARRAY_AGG(content ORDER BY received_at DESC) FILTER (WHERE msg_type <> 'event'))[1] AS li_content,
    MAX(received_at) FILTER (WHERE reply_type <> '' AND received_at > (SELECT since FROM p)) AS auto_at
  FROM ins GROUP BY account_id, openid
),
cur AS (
  SELECT c.account_id, c.openid, c.last_inbound_at, c.last_answer_at, c.unanswered,
         c.last_message_at, c.preview, c.preview_outbound
  FROM {table} c JOIN b ON b.account_id = c.account_id AND b.openid = c.openid
  ORDER BY c.account_id, c.openid
  FOR UPDATE OF c
),
n AS (
  SELECT b.*, cur.account_id IS NOT NULL AS known,
    cur.last_inbound_at AS c_li, cur.last_answer_at AS c_ans, cur.unanswered AS c_un,
    cur.last_message_at AS c_last, cur.preview AS c_preview, cur.preview_outbound AS c_out,
    GREATEST(cur.last_inbound_at, b.li_at) AS new_li,
    GREATEST(CASE WHEN cur.last_answer_at > p.since THEN cur.last_answer_at END, b.auto_at) AS new_ans,
    p.since, p.now
  FROM b CROSS JOIN p
  LEFT JOIN cur ON cur.account_id = b.account_id AND cur.openid = b.openid
),
un AS (
  SELECT n.account_id, n.openid, COUNT(*) AS batch_un
  FROM n JOIN ins m ON m.account_id = n.account_id AND m.openid = n.openid
  WHERE m.msg_type <> 'event' AND m.reply_type = '' AND m.received_at > GREATEST(n.new_ans, n.since)
  GROUP BY n.account_id, n.openid
),
f AS (
  SELECT n.*, COALESCE(un.batch_un, 0) AS batch_un,
    CASE WHEN NOT known THEN 'new'
         WHEN c_un = 0 OR c_li IS NULL OR c_li <= GREATEST(new_ans, since) THEN 'reset'
         WHEN new_ans IS NOT DISTINCT FROM c_ans THEN 'add'
         ELSE 'log' END AS mode,
    known AND li_at IS NULL OR known AND c_last IS NOT NULL AND li_at < c_last AS keep_preview
  FROM n LEFT JOIN un ON un.account_id = n.account_id AND un.openid = n.openid
),
up AS (
  INSERT INTO {table} (account_id, openid, last_inbound_at, last_answer_at, unanswered,
                       window_closes_at, last_message_at, preview, preview_outbound, updated_at)
  SELECT account_id, openid, new_li, new_ans,
    CASE WHEN mode = 'add' THEN c_un + batch_un ELSE batch_un END,
    new_li + INTERVAL '48 hours',
    CASE WHEN keep_preview THEN c_last ELSE li_at END,
    CASE WHEN keep_preview THEN c_preview ELSE COALESCE({preview}, '') END,
    CASE WHEN keep_preview THEN c_out ELSE FALSE END,
    now
  FROM f ORDER BY account_id, openid
  ON CONFLICT (account_id, openid) DO UPDATE SET
    last_inbound_at = EXCLUDED.last_inbound_at, last_answer_at = EXCLUDED.last_answer_at,
    unanswered = EXCLUDED.unanswered, window_closes_at = EXCLUDED.window_closes_at,
    last_message_at = EXCLUDED.last_message_at, preview = EXCLUDED.preview,
    preview_outbound = EXCLUDED.preview_outbound, updated_at = EXCLUDED.updated_at
  RETURNING account_id, openid, xmax::text <> '0' AS updated
)
SELECT (SELECT COUNT(*) FROM ins), account_id, openid FROM f WHERE mode = 'log'
UNION ALL
SELECT (SELECT COUNT(*) FROM ins), up.account_id, up.openid FROM up
  WHERE up.updated AND NOT EXISTS (
    SELECT 1 FROM cur WHERE cur.account_id = up.account_id AND cur.openid = up.openid)
UNION ALL SELECT (SELECT COUNT(*) FROM ins), NULL, NULL
"""  # noqa: S608


def insert_batch(rows: list[InboundMessage], *, now: datetime.datetime | None = None) -> int:
    """The log flusher's batch (issue 30; an automatic reply is an answer, issue 29): insert
    the log rows (`ON CONFLICT DO NOTHING`: a retry's row is skipped) and bring the
    conversation rows of what was inserted up to date from the batch itself, in one
    statement; returns the rows inserted. Run it inside a transaction. Pairs whose count needs the log (see
    `_batch_statement`) are recomputed by `refresh` in the same transaction.

    The flusher's usual path hands PostgreSQL the queued JSON instead of model instances
    (`log_queue._insert_queued` → `insert_with_conversations`); this one serves its
    fallback (a batch the database refused, written again row by row) and SQLite.

    Not PostgreSQL (no data-modifying CTE): the insert, then `refresh` of the batch's pairs.
    """
    if not rows:
        return 0
    if connection.vendor != "postgresql":
        InboundMessage.objects.bulk_create(rows, ignore_conflicts=True)
        refresh_for_messages(rows)
        return len(rows)
    opts = InboundMessage._meta
    fields = [f for f in opts.concrete_fields if not f.generated and not (f.primary_key and f.db_returning)]
    query = InsertQuery(InboundMessage, on_conflict=OnConflict.IGNORE)
    query.insert_values(fields, list[Model](rows))
    [(insert_sql, insert_params)] = query.get_compiler(connection=connection).as_sql()
    return insert_with_conversations(insert_sql, insert_params, now=now)


def insert_with_conversations(
    insert_sql: str, insert_params: Sequence, *, now: datetime.datetime | None = None
) -> int:
    """PostgreSQL: run `insert_sql` — an `INSERT INTO` the log `… ON CONFLICT DO NOTHING`,
    without RETURNING, its values in `insert_params` (`%s` placeholders) — and the
    conversation upsert of the rows it inserted, one statement (`_batch_statement`), then
    `refresh` of the pairs that need the log; returns the rows inserted. Run it inside a
    transaction."""
    now = now or timezone.now()
    ops = connection.ops
    params = [
        *insert_params,
        ops.adapt_datetimefield_value(now - LOOKBACK),
        ops.adapt_datetimefield_value(now),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_batch_statement(insert_sql), params)
        result = cursor.fetchall()
    inserted = result[0][0]
    refresh([(account_id, openid) for _, account_id, openid in result if account_id is not None], now=now)
    return inserted
