"""Delivering the conversation workspace's messages (the work of its tasks): send one stored
message through message/custom/send and record the outcome; settle the ones left behind.

Issue 23: a delivery records where it got to — taken (`claimed_at`), call started
(`call_started_at`, committed before the request leaves), outcome (`status`) — so that a
task handed out again (its worker was killed, PostgreSQL went away) settles the message
at once: it sends when the call was certainly not made, and records "may have reached
the user" when it was made and no outcome was recorded. A sweeper queues again the
messages whose task was lost (Redis down or restarted empty), well inside the broker's
visibility timeout plus a minute.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.queueing import enqueue_now
from core.task_retry import DATABASE_ERRORS
from wechat.api import custom_messages, media

from . import upkeep
from .models import OutboundMessage, OutboundStatus, OutboundType
from .selectors import reply_window

if TYPE_CHECKING:
    from wechat.client import WeChatClient

#: errmsg of a message whose call was made but whose answer never came back
ERRMSG_UNKNOWN = "outcome unknown"


class OutcomeNotRecorded(Exception):
    """The call's outcome is known but the database refused to record it (PostgreSQL
    restarting): the task retries with the outcome in its arguments (issue 23, point 8)."""

    def __init__(self, outcome: dict[str, Any]) -> None:
        super().__init__(outcome)
        self.outcome = outcome


def _may_have_reached() -> str:
    return _(
        "The request reached WeChat but no answer came back (the connection broke or the "
        "worker stopped): the message may or may not have reached the user. Check with the "
        "user before sending it again."
    )


def _record(message_id: int, token: int, outcome: dict[str, Any]) -> bool:
    """Record the outcome of the try numbered `token` (the message's `attempts` when it
    was taken). A "sent" outcome also replaces an "outcome unknown" that a redelivered
    task wrote meanwhile: what WeChat answered wins, unless the message was taken again."""
    mine = Q(pk=message_id, attempts=token)
    if outcome["status"] == OutboundStatus.SENT:
        mine &= Q(status=OutboundStatus.SENDING) | Q(status=OutboundStatus.FAILED, errmsg=ERRMSG_UNKNOWN)
        fields: dict[str, Any] = {"sent_at": timezone.now(), "errcode": 0, "errmsg": "ok", "explanation": ""}
    else:
        mine &= Q(status=OutboundStatus.SENDING)
        fields = {
            "errcode": outcome.get("errcode"),
            "errmsg": str(outcome.get("errmsg", ""))[:300],
            "explanation": outcome.get("explanation", ""),
        }
    try:
        return bool(OutboundMessage.objects.filter(mine).update(status=outcome["status"], **fields))
    except DATABASE_ERRORS as exc:
        raise OutcomeNotRecorded({**outcome, "token": token}) from exc


def _fail(message_id: int, token: int, *, errcode: int | None, errmsg: str, explanation: str) -> None:
    _record(
        message_id,
        token,
        {"status": OutboundStatus.FAILED, "errcode": errcode, "errmsg": errmsg, "explanation": explanation},
    )


def outbound_record_outcome(*, message_id: int, outcome: dict[str, Any]) -> str:
    """Record an outcome a previous try could not write (the task retried with it)."""
    _record(message_id, int(outcome["token"]), outcome)
    return OutboundMessage.objects.values_list("status", flat=True).get(pk=message_id)


def _settle_unknown(message_id: int) -> None:
    """sending with the call made and no outcome (its worker died): may have reached the user."""
    OutboundMessage.objects.filter(
        pk=message_id, status=OutboundStatus.SENDING, call_started_at__isnull=False
    ).update(
        status=OutboundStatus.FAILED, errcode=None, errmsg=ERRMSG_UNKNOWN, explanation=_may_have_reached()
    )
    _answer_changed([message_id])


def _answer_changed(message_ids: list[int]) -> None:
    """A failed reply answers nothing: its users' conversation rows are recomputed (issue 30)."""
    upkeep.refresh(OutboundMessage.objects.filter(pk__in=message_ids).values_list("account_id", "openid"))


def outbound_deliver(*, message_id: int, client: WeChatClient | None = None) -> str:
    """Send one pending message through message/custom/send; returns its new status.

    Taken with a conditional update (pending, or sending whose call was never started
    → sending, `attempts` + 1, which numbers this try); right before the call the try
    marks `call_started_at` — only if no later try took the message — so a message is
    sent at most once even when a task is handed out twice. A redelivered task that
    finds the call made and no outcome records "may have reached the user" at once.
    The window is checked again (it may have closed while queued). An image is
    uploaded as temporary media first. WeChat's business errors (45015, 45047, 40003
    …) fail the message with their explanation; a temporary error that cannot have
    reached WeChat (including a token fetch that failed: nothing was sent) puts it
    back to pending and is re-raised for the task to retry; one that may have reached
    WeChat fails it at once (never sent twice). A database error while recording the
    outcome raises `OutcomeNotRecorded` for the task to retry with it.
    """
    from wechat.errors import WeChatError, explain

    taken = (
        OutboundMessage.objects.filter(pk=message_id)
        .filter(
            Q(status=OutboundStatus.PENDING) | Q(status=OutboundStatus.SENDING, call_started_at__isnull=True)
        )
        .update(status=OutboundStatus.SENDING, attempts=F("attempts") + 1, claimed_at=timezone.now())
    )
    message = OutboundMessage.objects.select_related("account").get(pk=message_id)
    if not taken:
        if message.status == OutboundStatus.SENDING:  # the call was made by a try that died
            _settle_unknown(message_id)
            message.refresh_from_db(fields=["status"])
        return message.status
    token = message.attempts
    account = message.account
    window = reply_window(account=account, openid=message.openid, exclude_id=message.pk)
    if not window.can_send:
        _fail(
            message_id,
            token,
            errcode=window.errcode,
            errmsg=_("checked before sending"),
            explanation=window.explain(),
        )
        return OutboundStatus.FAILED
    if client is None:
        from accounts.wechat_api import client_for

        client = client_for(account)
    try:
        if message.msg_type == OutboundType.IMAGE and not message.media_id:
            with message.image.open("rb") as fileobj:
                content = fileobj.read()
            assert message.image.name is not None  # it opened, so it has a name
            media_id = media.upload(client, "image", content, message.image.name.rsplit("/", 1)[-1])
            OutboundMessage.objects.filter(pk=message_id).update(media_id=media_id)
            message.media_id = media_id
        started = OutboundMessage.objects.filter(
            pk=message_id, status=OutboundStatus.SENDING, attempts=token, call_started_at__isnull=True
        ).update(call_started_at=timezone.now())
        if not started:  # a later try took the message over: it sends
            return OutboundMessage.objects.values_list("status", flat=True).get(pk=message_id)
        custom_messages.send(client, message.payload())
    except WeChatError as exc:
        if exc.temporary and not exc.may_have_acted:
            OutboundMessage.objects.filter(
                pk=message_id, status=OutboundStatus.SENDING, attempts=token
            ).update(
                status=OutboundStatus.PENDING,
                call_started_at=None,
                errcode=exc.errcode,
                errmsg=str(exc.errmsg)[:300],
                explanation=str(exc.explanation),
            )
            raise
        if exc.may_have_acted:
            _fail(
                message_id, token, errcode=exc.errcode, errmsg=ERRMSG_UNKNOWN, explanation=_may_have_reached()
            )
        else:
            _fail(
                message_id,
                token,
                errcode=exc.errcode,
                errmsg=str(exc.errmsg),
                explanation=str(exc.explanation),
            )
        return OutboundStatus.FAILED
    except OSError as exc:  # the stored image cannot be read
        _fail(message_id, token, errcode=None, errmsg=type(exc).__name__, explanation=str(explain(40009)))
        return OutboundStatus.FAILED
    _record(message_id, token, {"status": OutboundStatus.SENT})
    return OutboundStatus.SENT


def outbound_give_up(*, message_id: int, error: str) -> None:
    """After the last retry of a temporary error that never reached WeChat: the message
    failed, nothing was sent (it can be sent again)."""
    OutboundMessage.objects.filter(
        pk=message_id,
        status__in=[OutboundStatus.PENDING, OutboundStatus.SENDING],
        call_started_at__isnull=True,
    ).update(
        status=OutboundStatus.FAILED,
        errcode=-1,
        errmsg=error[:300],
        explanation=_("WeChat could not be reached after several tries. Send it again later."),
    )
    _answer_changed([message_id])


def requeue_after() -> datetime.timedelta:
    """How long a message may stay pending or sending before its task counts as lost:
    longer than the task's hard time limit (a try still running would be killed by
    then) and than a retry's countdown; the sweeper runs every 30 s, so a lost task is
    queued again well inside the visibility timeout plus a minute (issue 23)."""
    return datetime.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 10)


#: a message never taken by a worker this long is queued again (a duplicate is harmless)
NOT_TAKEN_AFTER = datetime.timedelta(seconds=30)

#: a message that no task could settle this long (the queue stayed down) is failed
OUTBOUND_STUCK_AFTER = datetime.timedelta(minutes=15)


def outbound_sweep(*, now: datetime.datetime | None = None, batch: int = 500) -> dict[str, int]:
    """Queue again the messages whose task was lost (Redis down when it was written,
    restarted empty, a worker killed) — the task then settles them as above — and fail
    those no task settled for OUTBOUND_STUCK_AFTER, saying truly whether the call was
    made. Selects by state: a second run queues duplicates at most, which the
    conditional take makes harmless."""
    now = now or timezone.now()
    cutoff = now - requeue_after()
    lost = list(
        OutboundMessage.objects.filter(
            # never taken for NOT_TAKEN_AFTER: its task never reached the broker, or was lost
            Q(status=OutboundStatus.PENDING, claimed_at__isnull=True, created_at__lt=now - NOT_TAKEN_AFTER)
            | Q(status=OutboundStatus.PENDING, claimed_at__lt=cutoff)
            | Q(status=OutboundStatus.SENDING, claimed_at__lt=cutoff)
        )
        .filter(created_at__gte=now - OUTBOUND_STUCK_AFTER)
        .order_by("created_at")
        .values_list("pk", flat=True)[:batch]
    )
    from .tasks import outbound_deliver_task

    queued = 0
    for message_id in lost:
        if not enqueue_now(outbound_deliver_task, message_id).sent:
            break  # the queue is still down: the next run tries again
        queued += 1
    return {"requeued": queued, "failed": outbound_fail_stuck(now=now)}


def outbound_fail_stuck(*, now: datetime.datetime | None = None) -> int:
    """Fail messages no task settled for OUTBOUND_STUCK_AFTER (the queue stayed down),
    so none waits forever, saying whether the request may have reached WeChat."""
    cutoff = (now or timezone.now()) - OUTBOUND_STUCK_AFTER
    stuck = OutboundMessage.objects.filter(
        status__in=[OutboundStatus.PENDING, OutboundStatus.SENDING], created_at__lt=cutoff
    )
    ids = list(stuck.values_list("pk", flat=True))
    stuck = stuck.filter(pk__in=ids)
    made = stuck.filter(status=OutboundStatus.SENDING, call_started_at__isnull=False).update(
        status=OutboundStatus.FAILED, errcode=None, errmsg=ERRMSG_UNKNOWN, explanation=_may_have_reached()
    )
    not_made = stuck.filter(call_started_at__isnull=True).update(
        status=OutboundStatus.FAILED,
        errcode=None,
        errmsg="not sent",
        explanation=_(
            "The message was not sent: no worker could take it in time (is the task "
            "queue running?). It did not reach the user; send it again."
        ),
    )
    _answer_changed(ids)  # a failed reply no longer answers its conversation (issue 30)
    return made + not_made
