"""Keeping the conversation table (`Conversation`) true to the log and the replies.

Issue 30. One statement recomputes the rows of a set of (account, OpenID) pairs from the
message log and the replies — `INSERT … SELECT … ON CONFLICT (account, openid) DO UPDATE`,
with correlated index lookups per pair (the (account, openid, received_at) and
(account, openid, created_at) indexes), never a query per message:

- the log flusher runs it once per batch it writes, in the same transaction
  (`messaging.log_queue._write`), for the pairs of that batch;
- the callback's write-through path (Redis down) runs it for its one row;
- sending a reply and every change of a reply's state that moves the answer (failed,
  stuck) run it for that user;
- `conversations_repair` (beat, every few minutes) runs it for every pair with a message
  or reply in the last hour — whatever a crash between two of the above left behind;
- migration 0008 runs it for every pair of the log (existing installs).

Because every run recomputes from the sources instead of adding to counters, running it
twice — a batch a dead flusher left pending and another flusher wrote again, a repair
after the flusher — gives the same row (idempotent).

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
from collections.abc import Iterable

from django.db import connection
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
