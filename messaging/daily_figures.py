"""messaging's figures of one Beijing day, for insights' daily rollup (issue 28).

Insights collects every app's ``daily_figures`` module by name (``accounts.app_modules``), as
the dashboard collects ``dashboard.py``: insights imports no app and no app imports insights.
``daily_figures(day=, start=, end=)`` returns ``(account_id, metric, dimension, value)`` rows for
the local day ``day`` (``start`` ≤ time < ``end``, aware datetimes); dimension "" is the
account's total. Each read goes through an index on the time column (the message log's
``received_at``, the replies' (account, openid, created_at)); a run reads one day of the log.

- ``menu.click`` / ``menu.view``: CLICK and VIEW events, per button key (VIEW: the link);
- ``keyword.hit``: messages a keyword rule answered, per rule name;
- ``msg.inbound`` / ``msg.inbound.users``: users' messages (not events) and the users who sent them;
- ``reply.sent`` / ``reply.users``: staff replies delivered to WeChat that day, and to how many users;
- ``reply.response.count`` / ``reply.response.seconds``: replies that answered waiting user messages
  and the sum of their response times (from the first unanswered user message to the reply being
  written), so that an average over any period is seconds / count.
"""

from __future__ import annotations

import datetime

from django.db import connection
from django.db.models import Count

from .conversations.models import OutboundMessage, OutboundStatus
from .models import InboundMessage, Route

Row = tuple[int, str, str, int]
DIMENSION_MAX = 128
#: a keyword rule deleted since (the log keeps the hit, the rule is gone)
DELETED_RULE = "#deleted"
#: how far back a reply looks for the user message it answered (WeChat's reply window)
REPLY_WINDOW = datetime.timedelta(hours=48)


def _with_totals(rows: list[Row]) -> list[Row]:
    totals: dict[tuple[int, str], int] = {}
    for account_id, metric, _dimension, value in rows:
        totals[account_id, metric] = totals.get((account_id, metric), 0) + value
    return rows + [(a, m, "", v) for (a, m), v in totals.items()]


def daily_figures(*, day: datetime.date, start: datetime.datetime, end: datetime.datetime) -> list[Row]:
    del day  # the log is read by time
    in_day = InboundMessage.objects.filter(received_at__gte=start, received_at__lt=end).order_by()
    split: dict[tuple[int, str, str], int] = {}
    for account_id, event, key, n in (
        in_day.filter(msg_type="event", event__in=("CLICK", "VIEW"))
        .values_list("account_id", "event", "content")
        .annotate(n=Count("id"))
    ):
        metric = "menu.click" if event == "CLICK" else "menu.view"
        dimension = (key or "?")[:DIMENSION_MAX]
        split[account_id, metric, dimension] = split.get((account_id, metric, dimension), 0) + n
    for account_id, rule_id, name, n in (
        in_day.filter(route=Route.KEYWORD)
        .values_list("account_id", "keyword_rule_id", "keyword_rule__name")
        .annotate(n=Count("id"))
    ):
        dimension = (name or (f"#{rule_id}" if rule_id else DELETED_RULE))[:DIMENSION_MAX]
        split[account_id, "keyword.hit", dimension] = split.get((account_id, "keyword.hit", dimension), 0) + n
    rows: list[Row] = _with_totals([(a, m, d, v) for (a, m, d), v in split.items()])

    for account_id, n, users in (
        in_day.exclude(msg_type="event")
        .values_list("account_id")
        .annotate(n=Count("id"), users=Count("openid", distinct=True))
    ):
        rows += [(account_id, "msg.inbound", "", n), (account_id, "msg.inbound.users", "", users)]
    for account_id, n, users in (
        OutboundMessage.objects.filter(status=OutboundStatus.SENT, sent_at__gte=start, sent_at__lt=end)
        .order_by()
        .values_list("account_id")
        .annotate(n=Count("id"), users=Count("openid", distinct=True))
    ):
        rows += [(account_id, "reply.sent", "", n), (account_id, "reply.users", "", users)]
    for account_id, n, seconds in _response_times(start, end):
        rows += [
            (account_id, "reply.response.count", "", n),
            (account_id, "reply.response.seconds", "", seconds),
        ]
    return rows


def _response_times(start: datetime.datetime, end: datetime.datetime) -> list[tuple[int, int, int]]:
    """Per account: replies sent in [start, end) that answered a waiting user message, and the
    sum of (reply written − first user message after the previous reply), in seconds."""
    outbound = OutboundMessage._meta.db_table
    inbound = InboundMessage._meta.db_table
    sql = f"""
        SELECT o.account_id, count(*), coalesce(sum(extract(epoch FROM o.created_at - w.first_at)), 0)
        FROM {outbound} o
        CROSS JOIN LATERAL (
            SELECT max(p.created_at) AS at FROM {outbound} p
            WHERE p.account_id = o.account_id AND p.openid = o.openid
              AND p.created_at < o.created_at AND p.created_at >= o.created_at - make_interval(secs => %s)
        ) prev
        CROSS JOIN LATERAL (
            SELECT min(i.received_at) AS first_at FROM {inbound} i
            WHERE i.account_id = o.account_id AND i.openid = o.openid AND i.msg_type <> 'event'
              AND i.received_at <= o.created_at
              AND i.received_at > coalesce(prev.at, o.created_at - make_interval(secs => %s))
        ) w
        WHERE o.status = %s AND o.sent_at >= %s AND o.sent_at < %s AND w.first_at IS NOT NULL
        GROUP BY o.account_id
    """  # noqa: S608 - table names from the models, values as parameters
    with connection.cursor() as cursor:
        window = REPLY_WINDOW.total_seconds()
        cursor.execute(sql, [window, window, OutboundStatus.SENT, start, end])
        return [(int(a), int(n), round(float(s))) for a, n, s in cursor.fetchall()]
