"""Writes of the conversation workspace: staff answer users with message/custom/send.

`outbound_send` checks the input and the reply window (docs/wechat-protocol.md §c) under a
lock on the account, stores the message as pending and queues its delivery after the
commit; `delivery.outbound_deliver` (run by a task) sends it, uploading an image first, and
records the outcome; `outbound_retry` sends a failed message again.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from accounts.models import OfficialAccount
from core.domain_errors import DomainError
from core.queueing import Queued, enqueue_on_commit
from messaging.models import KfAccount, KfAccountStatus, KfSession, KfSessionStatus
from messaging.uploads import sniff_upload

from . import upkeep
from .models import (
    OUTBOUND_IMAGE_MAX_BYTES,
    OUTBOUND_TEXT_MAX_LENGTH,
    OutboundMessage,
    OutboundStatus,
    OutboundType,
)
from .selectors import reply_window
from .tasks import outbound_deliver_task

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile

    from core.typing import Actor

    from .selectors import ReplyWindow

logger = logging.getLogger(__name__)

IMAGE_SIGNATURES = {
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}


#: QueueUnavailable's text for a reply (the message is kept and sent when Redis is back)
REPLY_NOT_QUEUED = _lazy(
    "The task queue (Redis) could not be reached. The reply is saved and is sent "
    "automatically once Redis and the Celery workers are running again."
)


class ConversationError(DomainError, ValidationError):
    """A reply that cannot be sent; the message (per field) says why, in the user's language."""


def _clean(
    *, msg_type: str, text: str, news: dict[str, Any], image: UploadedFile[bytes] | None
) -> dict[str, str]:
    """The message's fields, checked; raises ConversationError naming the field."""
    from django.core.validators import URLValidator

    if msg_type == OutboundType.TEXT:
        text = (text or "").strip()
        if not text:
            raise ConversationError({"text": _("Write the message first.")})
        if len(text) > OUTBOUND_TEXT_MAX_LENGTH:
            raise ConversationError(
                {"text": _("A message is at most %(max)d characters.") % {"max": OUTBOUND_TEXT_MAX_LENGTH}}
            )
        return {"text": text}
    if msg_type == OutboundType.NEWS:
        title = (news.get("title") or "").strip()
        url = (news.get("url") or "").strip()
        pic = (news.get("pic_url") or "").strip()
        errors = {}
        if not title:
            errors["news_title"] = _("A link card needs a title.")
        elif len(title) > 64:
            errors["news_title"] = _("The title is at most 64 characters.")
        check = URLValidator(schemes=["http", "https"])
        for field, value, required in (("news_url", url, True), ("news_pic_url", pic, False)):
            if not value and not required:
                continue
            try:
                check(value)
            except ValidationError:
                errors[field] = _("Enter a full link starting with http:// or https://.")
        description = (news.get("description") or "").strip()
        if len(description) > 120:
            errors["news_description"] = _("The description is at most 120 characters.")
        if errors:
            raise ConversationError(errors)
        return {"news_title": title, "news_url": url, "news_pic_url": pic, "news_description": description}
    if msg_type == OutboundType.IMAGE:
        if image is None:
            raise ConversationError({"image": _("Choose an image to send.")})
        assert image.size is not None  # an upload always has a size
        if image.size > OUTBOUND_IMAGE_MAX_BYTES or image.size == 0:
            raise ConversationError({"image": _("The image must be between 1 byte and 10 MB.")})
        if sniff_upload(image, IMAGE_SIGNATURES) is None:
            raise ConversationError({"image": _("Only JPG, PNG or GIF images can be sent.")})
        return {}
    raise ConversationError({"msg_type": _("Choose text, a link card or an image.")})


def kf_choices(*, account: OfficialAccount) -> list[str]:
    """The account's customer-service accounts agents may send as (active ones)."""
    return list(
        KfAccount.objects.filter(account=account, status=KfAccountStatus.ACTIVE)
        .order_by("kf_account")
        .values_list("kf_account", flat=True)
    )


def default_kf_account(*, account: OfficialAccount, openid: str) -> str:
    """Who answers by default: the agent of the user's open session, else the first agent."""
    choices = kf_choices(account=account)
    session = (
        KfSession.objects.filter(account=account, openid=openid, status=KfSessionStatus.OPEN)
        .values_list("kf_account", flat=True)
        .first()
    )
    if session in choices:
        return session
    return choices[0] if choices else ""


def _check_kf(account: OfficialAccount, kf_account: str) -> str:
    """R-KF-02: when the account has a customer-service team, a reply goes out as one of
    its accounts; without a team it goes out as the official account itself."""
    choices = kf_choices(account=account)
    kf_account = (kf_account or "").strip()
    if not choices:
        return ""
    if kf_account not in choices:
        raise ConversationError({"kf_account": _("Choose which customer-service account answers.")})
    return kf_account


def _check_window(account: OfficialAccount, openid: str, *, exclude_id: int | None = None) -> ReplyWindow:
    window = reply_window(account=account, openid=openid, exclude_id=exclude_id)
    if not window.can_send:
        raise ConversationError({"__all__": window.explain()})
    return window


def _enqueue(message_id: int) -> Queued:
    """Queue delivery after the commit (core.queueing); if the broker is down the
    message stays pending and `outbound_sweep` queues it again when Redis is back."""
    return enqueue_on_commit(outbound_deliver_task, message_id)


def outbound_send(
    *,
    account: OfficialAccount,
    openid: str,
    msg_type: str,
    by: Actor,
    text: str = "",
    news: dict[str, Any] | None = None,
    image: UploadedFile[bytes] | None = None,
    kf_account: str = "",
) -> OutboundMessage:
    """Answer a user: check the message and the reply window, store it, queue delivery.

    docs/wechat-protocol.md §c: only within 48 hours of the user's last message (5
    messages) or 1 minute of a click/scan/subscription (3 messages); a reply outside
    would get 45015, one too many 45047 — both refused here with the reason, and
    nothing is stored. The account row is locked so that two agents answering at once
    cannot both take the window's last message. If the task queue cannot be reached the
    message stays stored as pending and `QueueUnavailable` says so (issue 23, point 4);
    the sweeper queues it when Redis is back.
    """
    fields = _clean(msg_type=msg_type, text=text, news=news or {}, image=image)
    with transaction.atomic():
        OfficialAccount.objects.select_for_update().filter(pk=account.pk).first()
        kf_account = _check_kf(account, kf_account)
        _check_window(account, openid)
        message = OutboundMessage(
            account=account, openid=openid, msg_type=msg_type, kf_account=kf_account, created_by=by, **fields
        )
        if image is not None:
            assert image.name is not None  # an upload always has a name
            message.image.save(image.name.rsplit("/", 1)[-1], image, save=False)
        message.save()
        upkeep.refresh([(account.pk, openid)])  # answered now (issue 30)
        queued = _enqueue(message.pk)
    queued.raise_if_failed(str(REPLY_NOT_QUEUED))
    return message


def outbound_retry(*, message: OutboundMessage, by: Actor) -> OutboundMessage:
    """Send a failed message again (failed → pending), if the window still allows it."""
    with transaction.atomic():
        OfficialAccount.objects.select_for_update().filter(pk=message.account_id).first()
        current = OutboundMessage.objects.select_for_update().get(pk=message.pk)
        if current.status != OutboundStatus.FAILED:
            raise ConversationError({"__all__": _("Only a failed message can be sent again.")})
        _check_window(current.account, current.openid, exclude_id=current.pk)
        current.status = OutboundStatus.PENDING
        current.errcode, current.errmsg, current.explanation = None, "", ""
        current.claimed_at = current.call_started_at = None  # a new delivery, from the start
        # it is (re)written now: it counts against the window it is sent in
        current.created_at = timezone.now()
        current.save(
            update_fields=[
                "status",
                "errcode",
                "errmsg",
                "explanation",
                "created_at",
                "claimed_at",
                "call_started_at",
            ]
        )
        upkeep.refresh([(current.account_id, current.openid)])
        logger.info("outbound %s: retry requested by %s", current.pk, getattr(by, "pk", None))
        queued = _enqueue(current.pk)
    queued.raise_if_failed(str(REPLY_NOT_QUEUED))
    return current
