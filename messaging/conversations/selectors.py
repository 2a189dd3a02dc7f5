"""Reads of the conversation workspace: reply windows, the conversation list, one thread.

Kept apart from `messaging/selectors.py` (the callback's and the message log's reads).
Scoping: every read starts from `accounts.selectors.accounts_visible_to`.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import OfficialAccount
from accounts.selectors import accounts_visible_to
from messaging.models import InboundMessage

from .models import Conversation, OutboundMessage, OutboundStatus

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


def conversations(
    *,
    user,
    account_id: int | None = None,
    search: str = "",
    state: str = "",
    now: datetime.datetime | None = None,
) -> QuerySet[Any, Any]:
    """One row per (account, user) who wrote in the last LIST_DAYS days, for accounts the
    user may see, from the conversation table (issue 30: its cost follows what is shown,
    not the traffic): last message time and preview, unanswered messages, whether the
    48-hour window is still open. Unanswered conversations come first, the one whose
    window closes soonest at the top; then the rest, newest first. An automatic reply
    counts as an answer (`conversations.upkeep`).

    `state`: "unanswered", "waiting" (unanswered with the window open: the dashboard's figure),
    "open" (window open) or "" (all). Rows are dicts (`values`)
    with account_id, openid, last_in, messages (unanswered), answered, window_open,
    preview, preview_outbound, assignee.
    """
    return _listed(user=user, account_id=account_id, search=search, state=state, now=now).values(*LIST_FIELDS)


def _listed(
    *, user, account_id: int | None, search: str, state: str, now: datetime.datetime | None
) -> QuerySet[Conversation]:
    """`conversations` before `values`: its rows, annotated and in the list's order."""
    now = now or timezone.now()
    visible = accounts_visible_to(user)
    if account_id:
        visible = visible.filter(pk=account_id)
    since = now - (MESSAGE_WINDOW if state == "open" else datetime.timedelta(days=LIST_DAYS))
    rows = Conversation.objects.filter(account_id__in=visible.values("pk"), last_inbound_at__gt=since)
    if search:
        rows = rows.filter(openid__icontains=search.strip())
    if state == "unanswered":
        rows = rows.filter(unanswered__gt=0)
    waiting = waiting_q(now)
    if state == "waiting":
        rows = rows.filter(waiting)
    window_open = Q(window_closes_at__gt=now)
    return (
        rows.annotate(
            answered=Case(When(unanswered=0, then=Value(True)), default=Value(False)),
            window_open=Case(When(window_open, then=Value(True)), default=Value(False)),
            rank=Case(When(waiting, then=Value(0)), When(unanswered__gt=0, then=Value(1)), default=Value(2)),
            urgent=Case(When(waiting, then=F("last_inbound_at"))),
            last_in=F("last_inbound_at"),
            messages=F("unanswered"),
            assignee=F("assigned_to__username"),
        )
    ).order_by(*LIST_ORDER)


#: what a row of the list holds, and the list's order
LIST_FIELDS = (
    "account_id",
    "openid",
    "last_in",
    "messages",
    "answered",
    "window_open",
    "preview",
    "preview_outbound",
    "assignee",
)
LIST_ORDER = ("rank", F("urgent").asc(nulls_last=True), F("last_in").desc(), "openid")


#: the list counts its rows up to this many; beyond, it says "more than" (issue 30)
COUNT_LIMIT = 1000
#: the last page asked for is at most this one: beyond the counted rows a page number is not
#: clamped to the last page, and the page's end must stay a bigint for PostgreSQL's LIMIT
MAX_PAGE = 1_000_000


@dataclass(frozen=True)
class ListPage:
    """One page of the conversation list: its rows, and the pages counted (`more`: the
    count stopped at COUNT_LIMIT rows, there are more pages than `pages`)."""

    rows: list[dict]
    number: int
    has_next: bool
    pages: int
    more: bool
    #: the rows counted: all of them unless `more`
    count: int

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_other_pages(self) -> bool:
        return self.has_previous or self.has_next

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1


def conversation_page(
    *,
    user,
    number: int = 1,
    per_page: int = 50,
    account_id: int | None = None,
    search: str = "",
    state: str = "",
    now: datetime.datetime | None = None,
) -> ListPage:
    """Page `number` of `conversations` (the same rows in the same order), in two queries
    whose cost follows the page, not the number of conversations (issue 30: at 20,000,000
    messages the list sorted ~100,000 conversations of 7 days for every page, and counted
    them).

    The order's three ranks are three index walks along `last_inbound_at` (the partial
    indexes `messaging_conv_unanswered` / `messaging_conv_answered`, migration 0012), each
    to the page's end, joined by UNION ALL and sorted (at most 3 × the rows up to the
    page's end): waiting (unanswered, window open: `window_closes_at` is
    `last_inbound_at` + 48 hours, `conversations.upkeep`) oldest first, then unanswered
    with the window closed newest first, then answered newest first. The count stops at
    COUNT_LIMIT rows (`ListPage.more`). SQLite (`make run`) allows no LIMIT inside a
    UNION: there the page is one sorted query.
    """
    now = now or timezone.now()
    number = min(max(1, number), MAX_PAGE)
    listed = _listed(user=user, account_id=account_id, search=search, state=state, now=now)
    counted = listed.order_by()[: COUNT_LIMIT + 1].count()
    pages = max(1, -(-min(counted, COUNT_LIMIT) // per_page))
    if counted <= COUNT_LIMIT:
        number = min(number, pages)  # past the end: the last page (as Paginator.get_page)
    end = number * per_page + 1  # one more: whether a next page exists
    opened = now - MESSAGE_WINDOW  # a waiting row's last message is later (window = it + 48 h)
    parts = [
        listed.filter(unanswered__gt=0, last_inbound_at__gt=opened).order_by("last_inbound_at", "openid")
    ]
    if state != "waiting":  # the ranks a state leaves out are not walked (their filters contradict it)
        parts.append(
            listed.filter(unanswered__gt=0, last_inbound_at__lte=opened).order_by(
                "-last_inbound_at", "openid"
            )
        )
    if state not in ("waiting", "unanswered"):
        parts.append(listed.filter(unanswered=0).order_by("-last_inbound_at", "openid"))
    if len(parts) == 1:  # "waiting": one rank, its walk is the page
        page = parts[0].values(*LIST_FIELDS)[end - per_page - 1 : end]
    elif not connections[listed.db].features.supports_slicing_ordering_in_compound:
        page = listed.values(*LIST_FIELDS)[end - per_page - 1 : end]  # SQLite (`make run`): one sort
    else:
        first, *rest = [part.values(*LIST_FIELDS, "rank", "urgent")[:end] for part in parts]
        page = first.union(*rest, all=True).order_by(*LIST_ORDER)[end - per_page - 1 : end]
    rows = [{key: row[key] for key in LIST_FIELDS} for row in page]
    return ListPage(
        rows=rows[:per_page],
        number=number,
        has_next=len(rows) > per_page,
        pages=pages,
        more=counted > COUNT_LIMIT,
        count=min(counted, COUNT_LIMIT),
    )


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


def waiting_q(now: datetime.datetime) -> Q:
    """Unanswered, and the 48-hour window still open: the dashboard's figure and the list's
    "waiting" rows, one condition (issue 29 §4)."""
    return Q(unanswered__gt=0, window_closes_at__gt=now)


def closing_soon(*, user, within: datetime.timedelta, limit: int = 12) -> list[Conversation]:
    """Waiting conversations (``waiting_q``) whose window closes within `within`, soonest first."""
    now = timezone.now()
    return list(
        Conversation.objects.filter(
            waiting_q(now),
            window_closes_at__lte=now + within,
            account_id__in=accounts_visible_to(user).values("pk"),
        )
        .select_related("account")
        .order_by("window_closes_at", "pk")[:limit]
    )


def unanswered_count(*, user, now: datetime.datetime | None = None, account_id: int | None = None) -> int:
    """Open, unanswered conversations of the user's accounts (for the dashboard and the
    account hub): the list's "unanswered" rows with the window open, from the
    conversation table's partial index (issue 30)."""
    now = now or timezone.now()
    visible = accounts_visible_to(user)
    if account_id:
        visible = visible.filter(pk=account_id)
    return Conversation.objects.filter(waiting_q(now), account_id__in=visible.values("pk")).count()


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
