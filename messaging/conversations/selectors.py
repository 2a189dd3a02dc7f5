"""Reads of the conversation workspace: reply windows, the conversation list, one thread.

Kept apart from `messaging/selectors.py` (the callback's and the message log's reads).
Scoping: every read starts from `accounts.selectors.accounts_visible_to`.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from accounts.models import OfficialAccount
from accounts.selectors import accounts_visible_to
from messaging.models import InboundMessage

from .models import OutboundMessage, OutboundStatus

# docs/wechat-protocol.md §c: a user message opens a 48-hour window for 5 customer-service
# messages; a menu click (click/scancode types), a subscription or a QR scan opens a
# 1-minute window for 3. The latest such interaction decides (as in the sandbox).
MESSAGE_WINDOW = datetime.timedelta(hours=48)
MESSAGE_WINDOW_LIMIT = 5
EVENT_WINDOW = datetime.timedelta(minutes=1)
EVENT_WINDOW_LIMIT = 3
WINDOW_EVENTS = ("subscribe", "SCAN", "CLICK", "scancode_push", "scancode_waitmsg")
#: unsubscribing closes the window ("subscription is canceled", 45015)
CLOSING_EVENTS = ("unsubscribe",)
#: outgoing messages that use up a window's count (sent, or on their way)
COUNTED_STATUSES = (OutboundStatus.PENDING, OutboundStatus.SENDING, OutboundStatus.SENT)
#: the conversation list looks this far back (older threads are in the message log)
LIST_DAYS = 7


@dataclass(frozen=True)
class ReplyWindow:
    """Whether staff may write to a user now, until when, and how many messages are left."""

    kind: str | None  # "message", "event" or None (no interaction / unsubscribed)
    opened_at: datetime.datetime | None
    closes_at: datetime.datetime | None
    limit: int
    used: int
    now: datetime.datetime

    @property
    def is_open(self) -> bool:
        return self.closes_at is not None and self.now < self.closes_at

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used) if self.is_open else 0

    @property
    def can_send(self) -> bool:
        return self.is_open and self.remaining > 0

    @property
    def seconds_left(self) -> int:
        if self.closes_at is None or not self.is_open:
            return 0
        return int((self.closes_at - self.now).total_seconds())

    @property
    def errcode(self) -> int | None:
        """The WeChat error a send would get now: 45015 closed, 45047 count used up."""
        if not self.is_open:
            return 45015
        if self.remaining <= 0:
            return 45047
        return None

    def explain(self) -> str:
        """In the active language: why one can or cannot write now (protocol §c)."""
        if self.kind is None and self.opened_at is not None:
            return _("The user has unfollowed the account: no message can be sent (45015).")
        if self.kind is None:
            return _(
                "The user has not written to the account, so WeChat does not allow "
                "customer-service messages (45015)."
            )
        if not self.is_open:
            if self.kind == "event":
                return _(
                    "Closed: after a menu click, a subscription or a QR scan the account "
                    "may answer only within 1 minute (45015). Wait until the user "
                    "writes again."
                )
            return _(
                "Closed: more than 48 hours have passed since the user's last message "
                "(45015). Wait until the user writes again."
            )
        if self.remaining <= 0:
            return _(
                "All %(limit)d messages allowed in this window are used (45047). Wait "
                "until the user writes again."
            ) % {"limit": self.limit}
        hours, rest = divmod(self.seconds_left, 3600)
        minutes = rest // 60
        if self.kind == "event":
            return _(
                "Open for %(seconds)d more seconds (1 minute after a click, subscription "
                "or scan); %(remaining)d of %(limit)d messages left."
            ) % {"seconds": self.seconds_left, "remaining": self.remaining, "limit": self.limit}
        return _(
            "Open for %(hours)d h %(minutes)d min more (48 hours after the user's last "
            "message); %(remaining)d of %(limit)d messages left."
        ) % {"hours": hours, "minutes": minutes, "remaining": self.remaining, "limit": self.limit}

    def as_dict(self) -> dict:
        return {
            "open": self.is_open,
            "can_send": self.can_send,
            "kind": self.kind,
            "closes_at": self.closes_at.isoformat() if self.closes_at else None,
            "seconds_left": self.seconds_left,
            "remaining": self.remaining,
            "limit": self.limit,
            "errcode": self.errcode,
            "text": self.explain(),
        }


def reply_window(
    *,
    account: OfficialAccount,
    openid: str,
    now: datetime.datetime | None = None,
    exclude_id: int | None = None,
) -> ReplyWindow:
    """The customer-service window of one user (docs/wechat-protocol.md §c, 45015/45047).

    The latest user message (48 h, 5 messages) or window-opening event (click, scan,
    subscribe: 1 min, 3 messages) opens it; unfollowing closes it; our outgoing
    messages since it opened (sent or on their way; `exclude_id` is the one being
    delivered) use up its count. Two indexed queries.
    """
    now = now or timezone.now()
    opening = (
        InboundMessage.objects.filter(account_id=account.pk, openid=openid)
        .filter(~Q(msg_type="event") | Q(event__in=WINDOW_EVENTS + CLOSING_EVENTS))
        .order_by("-received_at", "-id")
        .values("msg_type", "event", "received_at")
        .first()
    )
    if opening is None:
        return ReplyWindow(None, None, None, 0, 0, now)
    opened_at = opening["received_at"]
    if opening["event"] in CLOSING_EVENTS:
        return ReplyWindow(None, opened_at, None, 0, 0, now)
    if opening["msg_type"] == "event":
        kind, length, limit = "event", EVENT_WINDOW, EVENT_WINDOW_LIMIT
    else:
        kind, length, limit = "message", MESSAGE_WINDOW, MESSAGE_WINDOW_LIMIT
    used = (
        OutboundMessage.objects.filter(
            account_id=account.pk, openid=openid, created_at__gte=opened_at, status__in=COUNTED_STATUSES
        )
        .exclude(pk=exclude_id)  # type: ignore[misc]  # pk=None is valid Django (excludes nothing)
        .count()
    )
    return ReplyWindow(kind, opened_at, opened_at + length, limit, used, now)


def conversation_accounts(user) -> QuerySet[OfficialAccount]:
    return accounts_visible_to(user).order_by("name")


class ConversationRows:
    """The conversation list as a lazily evaluated, sliceable sequence (for Paginator).

    One SQL statement per slice and one per count. The ORM builds the grouped inner
    query (filters and scoping stay in the ORM); it is wrapped in raw SQL so that the
    newest reply of each thread is looked up once per thread, after grouping — as an
    ORM annotation Django repeats the correlated subquery in every CASE and in GROUP BY,
    which made the list ~150× slower on 200,000 messages (bench/conversation_list.py).
    """

    def __init__(self, grouped: QuerySet, *, unanswered_only: bool, now: datetime.datetime):
        self.grouped = grouped
        self.unanswered_only = unanswered_only
        self.now = now
        self._count: int | None = None

    def _sql(self) -> tuple[str, list]:
        inner, inner_params = self.grouped.query.sql_with_params()
        outbound = OutboundMessage._meta.db_table
        statuses = ", ".join(["%s"] * len(COUNTED_STATUSES))
        # Only a table name, placeholders and the ORM's own SQL are put into the string;
        # every value travels as a parameter.
        sql = (
            "SELECT t.account_id, t.openid, t.last_in, t.messages, "  # noqa: S608
            "CASE WHEN t.last_out IS NOT NULL AND t.last_out >= t.last_in THEN 1 ELSE 0 END "
            "AS answered, CASE WHEN t.last_in > %s THEN 1 ELSE 0 END AS window_open "
            "FROM (SELECT g.account_id, g.openid, g.last_in, g.messages, "
            f"(SELECT MAX(o.created_at) FROM {outbound} o WHERE o.account_id = g.account_id "
            f"AND o.openid = g.openid AND o.status IN ({statuses})) AS last_out "
            f"FROM ({inner}) g{self._fence()}) t"
        )
        # placeholders in order: the window's start, the reply statuses, the inner query's
        params = [self.now - MESSAGE_WINDOW, *COUNTED_STATUSES, *inner_params]
        where = (
            " WHERE NOT (t.last_out IS NOT NULL AND t.last_out >= t.last_in)" if self.unanswered_only else ""
        )
        return sql + where, params

    @staticmethod
    def _fence() -> str:
        """OFFSET 0 keeps the planner from inlining `t` into the outer query, which would
        evaluate the reply lookup once per use of `answered` instead of once per thread."""
        return " OFFSET 0" if connection.vendor == "postgresql" else " LIMIT -1 OFFSET 0"

    def count(self) -> int:
        if self._count is None:
            sql, params = self._sql()
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT COUNT(*) FROM ({sql}) c", params)  # noqa: S608
                self._count = cursor.fetchone()[0]
        return self._count

    def __len__(self) -> int:
        return self.count()

    def __iter__(self):
        return iter(self[0:None])

    def __getitem__(self, index: slice) -> list[dict]:
        if not isinstance(index, slice) or index.step not in (None, 1):
            raise TypeError("ConversationRows supports slices only")
        offset = index.start or 0
        limit = (index.stop - offset) if index.stop is not None else 10**9
        sql, params = self._sql()
        # unanswered with the window open first, the soonest to close on top; then
        # unanswered with the window closed; then answered — each newest first
        order = (
            " ORDER BY CASE WHEN answered = 0 AND window_open = 1 THEN 0 "
            "WHEN answered = 0 THEN 1 ELSE 2 END, "
            "CASE WHEN answered = 0 AND window_open = 1 THEN last_in END ASC NULLS LAST, "
            "last_in DESC, openid ASC LIMIT %s OFFSET %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT * FROM ({sql}) r{order}",  # noqa: S608
                [*params, limit, offset],
            )
            names = [column[0] for column in cursor.description]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        for row in rows:
            row["last_in"] = _aware(row["last_in"])
            row["answered"], row["window_open"] = bool(row["answered"]), bool(row["window_open"])
        return rows


def _aware(value) -> datetime.datetime:
    """A timestamp from raw SQL (SQLite answers text) as an aware datetime."""
    if isinstance(value, str):
        value = parse_datetime(value)
    return value if timezone.is_aware(value) else timezone.make_aware(value, datetime.UTC)


def conversations(
    *,
    user,
    account_id: int | None = None,
    search: str = "",
    state: str = "",
    now: datetime.datetime | None = None,
) -> ConversationRows:
    """One row per (account, user) who wrote in the last LIST_DAYS days, for accounts the
    user may see: last message time, count, whether staff answered after it, whether
    the 48-hour window is still open. Unanswered conversations come first, the one
    whose window closes soonest at the top; then the rest, newest first.

    `state`: "unanswered", "open" (window open) or "" (all).
    """
    now = now or timezone.now()
    visible = accounts_visible_to(user)
    if account_id:
        visible = visible.filter(pk=account_id)
    # "open" is decided in WHERE (a message within 48 h), not after grouping: fewer rows read
    since = now - (MESSAGE_WINDOW if state == "open" else datetime.timedelta(days=LIST_DAYS))
    rows = InboundMessage.objects.filter(account_id__in=visible.values("pk"), received_at__gt=since).exclude(
        msg_type="event"
    )
    if search:
        rows = rows.filter(openid__icontains=search.strip())
    grouped = (
        rows.order_by()
        .values("account_id", "openid")
        .annotate(last_in=Max("received_at"), messages=Count("id"))
    )
    return ConversationRows(grouped, unanswered_only=state == "unanswered", now=now)


def with_accounts(rows: list[dict], *, now: datetime.datetime | None = None) -> list[dict]:
    """Add the account and the window's end to a page of `conversations` rows."""
    now = now or timezone.now()
    accounts = OfficialAccount.objects.in_bulk({row["account_id"] for row in rows})
    for row in rows:
        row["account"] = accounts.get(row["account_id"])
        closes_at = row["last_in"] + MESSAGE_WINDOW
        row["closes_at"] = closes_at
        left = int((closes_at - now).total_seconds())
        row["seconds_left"] = max(0, left)
        row["hours_left"], rest = divmod(max(0, left), 3600)
        row["minutes_left"] = rest // 60
    return rows


def unanswered_count(*, user, now: datetime.datetime | None = None) -> int:
    """Open, unanswered conversations of the user's accounts (for the dashboard)."""
    now = now or timezone.now()
    rows = conversations(user=user, state="open", now=now)
    rows.unanswered_only = True
    return rows.count()


def thread(*, account: OfficialAccount, openid: str, limit: int = 100) -> list[dict]:
    """The last `limit` inbound and outbound messages of one user, oldest first, as dicts
    ready for JSON (what the workspace script renders and polls)."""
    inbound = list(
        InboundMessage.objects.filter(account_id=account.pk, openid=openid).order_by("-received_at", "-id")[
            :limit
        ]
    )
    outbound = list(
        OutboundMessage.objects.filter(account_id=account.pk, openid=openid)
        .select_related("created_by")
        .order_by("-created_at", "-id")[:limit]
    )
    items: list[dict[str, Any]] = [
        {
            "id": f"in-{row.pk}",
            "direction": "in",
            "at": row.received_at.isoformat(),
            "type": row.msg_type,
            "event": row.event,
            "text": row.content,
            "auto_reply": row.reply_summary if row.reply_type else "",
            "status": "",
        }
        for row in inbound
    ] + [
        {
            "id": f"out-{row.pk}",
            "pk": row.pk,
            "direction": "out",
            "at": row.created_at.isoformat(),
            "type": row.msg_type,
            "type_display": str(row.get_msg_type_display()),
            "text": row.summary,
            "kf_account": row.kf_account,
            "status": row.status,
            "status_display": str(row.get_status_display()),
            "errcode": row.errcode,
            "explanation": row.explanation,
            "by": row.created_by.get_username() if row.created_by else "",
            "retryable": row.status == OutboundStatus.FAILED,
        }
        for row in outbound
    ]
    items.sort(key=lambda item: item["at"])
    return items[-limit:]
