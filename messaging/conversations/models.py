"""Messages staff send to users from the conversation workspace (message/custom/send).

Outgoing messages live in their own table rather than as extra columns of
InboundMessage: the callback writes inbound rows with a hand-built INSERT on the hot
path, and the message log is tuned for millions of inbound rows; an outgoing message
has its own life (pending → sending → sent | failed, retries, who sent it, the file
of an image) that inbound rows never have. The workspace merges both by time.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import OfficialAccount

#: WeChat's text message limit is 2048 bytes; we count characters and keep well below.
OUTBOUND_TEXT_MAX_LENGTH = 600
#: WeChat accepts jpg/png/gif/bmp images of at most 10 MB as temporary media.
OUTBOUND_IMAGE_MAX_BYTES = 10 * 1024 * 1024
#: characters of the last message kept as the conversation list's preview
PREVIEW_LENGTH = 120


class OutboundType(models.TextChoices):
    TEXT = "text", _("Text")
    NEWS = "news", _("Link card (news)")
    IMAGE = "image", _("Image")


class OutboundStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Delivered to WeChat")
    FAILED = "failed", _("Failed")


def outbound_image_path(instance: OutboundMessage, filename: str) -> str:
    return f"conversation-images/{instance.account_id}/{timezone.now():%Y%m%d%H%M%S}-{filename[-40:]}"


class OutboundMessage(models.Model):
    """One customer-service message to one user, and what happened to it.

    Created by `conversations.services.outbound_send` after the reply window was
    checked (docs/wechat-protocol.md §c); delivered by a task; `status`, `errcode` and
    `explanation` show the outcome; a failed message can be sent again (retry).
    """

    account = models.ForeignKey(
        OfficialAccount,
        verbose_name=_("official account"),
        on_delete=models.CASCADE,
        related_name="outbound_messages",
        db_index=False,
    )
    openid = models.CharField(_("user OpenID"), max_length=64)
    msg_type = models.CharField(_("message type"), max_length=10, choices=OutboundType.choices)
    text = models.TextField(_("text"), blank=True, max_length=OUTBOUND_TEXT_MAX_LENGTH)
    news_title = models.CharField(_("article title"), max_length=64, blank=True)
    news_description = models.CharField(_("article description"), max_length=120, blank=True)
    news_url = models.URLField(_("article link"), max_length=1024, blank=True)
    news_pic_url = models.URLField(_("article picture URL"), max_length=1024, blank=True)
    image = models.FileField(_("image"), upload_to=outbound_image_path, blank=True)
    media_id = models.CharField(_("media_id"), max_length=128, blank=True)
    kf_account = models.CharField(_("sent as customer-service account"), max_length=30, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=OutboundStatus.choices, default=OutboundStatus.PENDING
    )
    errcode = models.IntegerField(_("error code"), null=True, blank=True)
    errmsg = models.CharField(_("error message"), max_length=300, blank=True)
    explanation = models.TextField(_("explanation"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sent by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("written at"), default=timezone.now)
    sent_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    # Where the delivery got to (issue 23): `claimed_at` is set when a task takes the
    # message (pending → sending), `call_started_at` right before message/custom/send
    # (committed first). A redelivered task reads them: no call started → it sends;
    # a call started and no outcome → "may have reached the user".
    claimed_at = models.DateTimeField(_("taken by a worker at"), null=True, blank=True, editable=False)
    call_started_at = models.DateTimeField(_("sent to WeChat at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("reply to a user")
        verbose_name_plural = _("replies to users")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "openid", "created_at"], name="messaging_outbound_thread")]
        permissions = [("reply_to_users", _("Can answer users from the back-office"))]

    def __str__(self) -> str:
        return f"{self.openid} {self.get_msg_type_display()} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def summary(self) -> str:
        if self.msg_type == OutboundType.NEWS:
            return f"{self.news_title} — {self.news_url}"
        if self.msg_type == OutboundType.IMAGE:
            name = self.image.name  # a FieldFile is true when it has a name
            return name.rsplit("/", 1)[-1] if name else self.media_id
        return self.text

    def payload(self) -> dict[str, Any]:
        """The body of message/custom/send (the image's media_id must be known by now)."""
        body: dict[str, Any] = {"touser": self.openid, "msgtype": self.msg_type}
        if self.msg_type == OutboundType.TEXT:
            body["text"] = {"content": self.text}
        elif self.msg_type == OutboundType.NEWS:
            body["news"] = {
                "articles": [
                    {
                        "title": self.news_title,
                        "description": self.news_description,
                        "url": self.news_url,
                        "picurl": self.news_pic_url,
                    }
                ]
            }
        else:
            body["image"] = {"media_id": self.media_id}
        if self.kf_account:
            body["customservice"] = {"kf_account": self.kf_account}
        return body


class Conversation(models.Model):
    """One row per (account, user): what the conversation list, the dashboard and the hub read.

    Issue 30: counting unanswered conversations from the log grouped every message of the
    last 48 hours (8× slower at a busy account's 2,000,000 messages than at 10,000). This
    table is kept by `conversations.upkeep` — recomputed for the (account, OpenID) pairs
    of each batch the log flusher writes and of each reply staff send, in one set-based
    statement — and repaired from the log by a periodic task. An automatic reply
    (keyword, welcome or menu-click reply in the log) counts as an answer, as a reply from
    the workspace does (issue 29).
    """

    account = models.ForeignKey(
        OfficialAccount,
        verbose_name=_("official account"),
        on_delete=models.CASCADE,
        related_name="conversations",
        db_index=False,
    )
    openid = models.CharField(_("user OpenID"), max_length=64)
    last_inbound_at = models.DateTimeField(_("last message from the user"), null=True, blank=True)
    last_answer_at = models.DateTimeField(_("last answer"), null=True, blank=True)
    unanswered = models.PositiveIntegerField(_("unanswered messages"), default=0)
    window_closes_at = models.DateTimeField(_("reply window closes"), null=True, blank=True)
    last_message_at = models.DateTimeField(_("last message"), null=True, blank=True)
    preview = models.CharField(_("last message"), max_length=PREVIEW_LENGTH, blank=True)
    preview_outbound = models.BooleanField(_("last message is ours"), default=False)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        default_permissions = ()  # read through the workspace's permissions
        constraints = [
            models.UniqueConstraint(fields=["account", "openid"], name="messaging_conversation_unique"),
        ]
        indexes = [
            models.Index(fields=["account", "last_inbound_at"], name="messaging_conversation_recent"),
            # the dashboard's count: open windows with an unanswered message
            models.Index(
                fields=["account", "window_closes_at"],
                name="messaging_conversation_waiting",
                condition=models.Q(unanswered__gt=0),
            ),
            # the list's ranks walked in order (`selectors.conversation_page`, issue 30)
            models.Index(
                fields=["last_inbound_at"],
                name="messaging_conv_unanswered",
                condition=models.Q(unanswered__gt=0),
            ),
            models.Index(
                fields=["last_inbound_at"], name="messaging_conv_answered", condition=models.Q(unanswered=0)
            ),
        ]

    def __str__(self) -> str:
        return self.openid
