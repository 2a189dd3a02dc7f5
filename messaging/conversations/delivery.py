"""Delivering the conversation workspace's messages (the work of its tasks): send one stored
message through message/custom/send and record the outcome; fail the ones left behind."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from django.utils import timezone
from django.utils.translation import gettext as _

from wechat.api import custom_messages, media

from . import upkeep
from .models import OutboundMessage, OutboundStatus, OutboundType
from .selectors import reply_window

if TYPE_CHECKING:
    from wechat.client import WeChatClient


def _fail(message_id: int, *, errcode: int | None, errmsg: str, explanation: str) -> None:
    OutboundMessage.objects.filter(pk=message_id, status=OutboundStatus.SENDING).update(
        status=OutboundStatus.FAILED, errcode=errcode, errmsg=errmsg[:300], explanation=explanation
    )
    _answer_changed([message_id])


def _answer_changed(message_ids: list[int]) -> None:
    """A failed reply answers nothing: its users' conversation rows are recomputed (issue 30)."""
    upkeep.refresh(OutboundMessage.objects.filter(pk__in=message_ids).values_list("account_id", "openid"))


def outbound_deliver(*, message_id: int, client: WeChatClient | None = None) -> str:
    """Send one pending message through message/custom/send; returns its new status.

    Claimed with a conditional update (pending → sending), so a task delivered twice
    sends once. The window is checked again (it may have closed while queued). An
    image is uploaded as temporary media first. WeChat's business errors (45015,
    45047, 40003 …) fail the message with their explanation; a temporary error
    puts it back to pending and is re-raised for the task to retry — unless the
    request may have reached WeChat, then it fails at once (never sent twice).
    """
    from wechat.errors import WeChatError, explain

    claimed = OutboundMessage.objects.filter(pk=message_id, status=OutboundStatus.PENDING).update(
        status=OutboundStatus.SENDING
    )
    message = OutboundMessage.objects.select_related("account").get(pk=message_id)
    if not claimed:
        return message.status
    OutboundMessage.objects.filter(pk=message_id).update(attempts=message.attempts + 1)
    account = message.account
    window = reply_window(account=account, openid=message.openid, exclude_id=message.pk)
    if not window.can_send:
        _fail(
            message_id,
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
        custom_messages.send(client, message.payload())
    except WeChatError as exc:
        if exc.temporary and not exc.may_have_acted:
            OutboundMessage.objects.filter(pk=message_id, status=OutboundStatus.SENDING).update(
                status=OutboundStatus.PENDING,
                errcode=exc.errcode,
                errmsg=str(exc.errmsg)[:300],
                explanation=str(exc.explanation),
            )
            raise
        explanation = str(exc.explanation)
        if exc.temporary:
            explanation = _(
                "The connection broke after the message was sent: it may or may "
                "not have reached the user. Check with the user before sending "
                "it again."
            )
        _fail(message_id, errcode=exc.errcode, errmsg=str(exc.errmsg), explanation=explanation)
        return OutboundStatus.FAILED
    except OSError as exc:  # the stored image cannot be read
        _fail(message_id, errcode=None, errmsg=type(exc).__name__, explanation=str(explain(40009)))
        return OutboundStatus.FAILED
    OutboundMessage.objects.filter(pk=message_id, status=OutboundStatus.SENDING).update(
        status=OutboundStatus.SENT, sent_at=timezone.now(), errcode=0, errmsg="ok", explanation=""
    )
    return OutboundStatus.SENT


def outbound_give_up(*, message_id: int, error: str) -> None:
    """After the last retry of a temporary error: the message failed (it can be retried)."""
    OutboundMessage.objects.filter(
        pk=message_id, status__in=[OutboundStatus.PENDING, OutboundStatus.SENDING]
    ).update(
        status=OutboundStatus.FAILED,
        errcode=-1,
        errmsg=error[:300],
        explanation=_("WeChat could not be reached after several tries. Send it again later."),
    )
    _answer_changed([message_id])


#: a message still pending or sending this long after it was written lost its worker
OUTBOUND_STUCK_AFTER = datetime.timedelta(minutes=15)


def outbound_fail_stuck(*, now: datetime.datetime | None = None) -> int:
    """Fail messages left pending or sending (a worker died, a task was lost), so none
    waits forever; staff see that it may or may not have arrived and may send it again.
    Selects by state: a second run changes nothing."""
    cutoff = (now or timezone.now()) - OUTBOUND_STUCK_AFTER
    stuck = OutboundMessage.objects.filter(
        status__in=[OutboundStatus.PENDING, OutboundStatus.SENDING], created_at__lt=cutoff
    )
    ids = list(stuck.values_list("pk", flat=True))
    failed = stuck.filter(pk__in=ids).update(
        status=OutboundStatus.FAILED,
        errcode=None,
        errmsg="timeout",
        explanation=_(
            "No answer from the sending worker in time: the message may or may not "
            "have reached the user. Check with the user before sending it again."
        ),
    )
    _answer_changed(ids)
    return failed
