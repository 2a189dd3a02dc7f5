"""Mass sends (群发, issue 25): one message to every follower or to a tag's, prepared, previewed,
approved by someone else, then sent once — now or at a chosen time — and followed to its end.

A send's status changes only through `content.mass.transitions.TRANSITIONS`, each change
recorded in `MassSendLog`. What is known of the WeChat call is kept on the row: the intent
(``called_at`` and the fixed ``clientmsgid``) is written before the call, WeChat's ``msg_id``
after it, and the ``MASSSENDJOBFINISH`` totals last (R-MASS-01…05 in docs/business-rules.md).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class MassKind(models.TextChoices):
    ARTICLE = "mpnews", _("Article (a draft)")
    TEXT = "text", _("Text")
    IMAGE = "image", _("Image")
    VOICE = "voice", _("Voice")


class MassStatus(models.TextChoices):
    DRAFT = "draft", _("Being prepared")
    AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
    REJECTED = "rejected", _("Rejected")
    APPROVED = "approved", _("Approved")
    SCHEDULED = "scheduled", _("Scheduled")
    SENDING = "sending", _("Sending to WeChat")
    UNKNOWN = "unknown", _("Outcome being checked")
    SENT = "sent", _("Accepted by WeChat")
    FINISHED = "finished", _("Finished")
    FAILED = "failed", _("Failed")
    DELETED = "deleted", _("Deleted")
    CANCELLED = "cancelled", _("Cancelled")


class MassSend(models.Model):
    """One mass message of one account."""

    account = models.ForeignKey(
        "accounts.OfficialAccount",
        on_delete=models.CASCADE,
        related_name="mass_sends",
        verbose_name=_("account"),
    )
    title = models.CharField(
        _("title"), max_length=100, help_text=_("For staff: how the send is named here.")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=MassKind.choices, default=MassKind.ARTICLE)
    #: SET_NULL: deleting a draft keeps the send's record (media_id keeps what was sent)
    draft = models.ForeignKey(
        "content.Draft",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="mass_sends",
        verbose_name=_("draft"),
    )
    media_id = models.CharField(
        _("WeChat media ID"),
        max_length=128,
        blank=True,
        help_text=_("An image or voice from the account's materials; an article's is its draft's."),
    )
    text = models.TextField(_("text"), blank=True)
    to_all = models.BooleanField(_("to all followers"), default=True)
    tag_id = models.IntegerField(_("WeChat tag id"), null=True, blank=True)
    tag_name = models.CharField(_("tag"), max_length=30, blank=True)
    send_ignore_reprint = models.BooleanField(
        _("send even when judged a reprint"),
        default=False,
        help_text=_("WeChat's send_ignore_reprint: go on when an article is a reprint its author allows."),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=MassStatus.choices, default=MassStatus.DRAFT, db_index=True
    )
    status_note = models.CharField(_("note"), max_length=500, blank=True)
    # preparation and approval
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("prepared by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    previewed_at = models.DateTimeField(_("last preview"), null=True, blank=True)
    previewed_to = models.CharField(_("previewed to"), max_length=64, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    client_confirmation = models.CharField(
        _("client's confirmation"),
        max_length=300,
        blank=True,
        help_text=_("Who at the client agreed to this send, when and how."),
    )
    rejection_reason = models.CharField(_("rejection reason"), max_length=300, blank=True)
    scheduled_at = models.DateTimeField(_("send at"), null=True, blank=True, db_index=True)
    # the WeChat call: intent before, msg_id after
    clientmsgid = models.CharField(_("clientmsgid"), max_length=64, blank=True, editable=False)
    called_at = models.DateTimeField(_("first call at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("calls"), default=0)
    msg_id = models.BigIntegerField(_("WeChat msg_id"), null=True, blank=True)
    msg_data_id = models.BigIntegerField(_("WeChat msg_data_id"), null=True, blank=True)
    errcode = models.IntegerField(_("error code"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    # MASSSENDJOBFINISH (or message/mass/get)
    wechat_status = models.CharField(_("WeChat's status"), max_length=40, blank=True)
    total_count = models.PositiveIntegerField(_("followers targeted"), null=True, blank=True)
    filter_count = models.PositiveIntegerField(_("after filtering"), null=True, blank=True)
    sent_count = models.PositiveIntegerField(_("received"), null=True, blank=True)
    error_count = models.PositiveIntegerField(_("errors"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("mass send")
        verbose_name_plural = _("mass sends")
        ordering = ("-created_at",)
        permissions = [("approve_masssend", _("Can approve and send mass messages"))]
        indexes = [
            models.Index(fields=["account", "-created_at"], name="content_mass_by_account"),
            models.Index(fields=["account", "msg_id"], name="content_mass_msg_id"),
            models.Index(fields=["status", "scheduled_at"], name="content_mass_due"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["clientmsgid"], condition=~models.Q(clientmsgid=""), name="content_mass_clientmsgid"
            ),
            models.CheckConstraint(
                condition=models.Q(to_all=True, tag_id__isnull=True)
                | models.Q(to_all=False, tag_id__isnull=False),
                name="content_mass_one_target",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def target_label(self) -> str:
        if self.to_all:
            return str(_("All followers"))
        return str(_("Tag “%(name)s” (%(id)s)") % {"name": self.tag_name or "?", "id": self.tag_id})


class MassSendLog(models.Model):
    """One step in a send's life: who, when, from which status to which, and why."""

    send = models.ForeignKey(
        MassSend, on_delete=models.CASCADE, related_name="log", verbose_name=_("mass send")
    )
    at = models.DateTimeField(_("at"), auto_now_add=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    action = models.CharField(_("action"), max_length=30)
    from_status = models.CharField(_("from"), max_length=20, blank=True)
    to_status = models.CharField(_("to"), max_length=20, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("mass send history")
        verbose_name_plural = _("mass send history")
        ordering = ("send", "at", "id")

    def __str__(self) -> str:
        return f"#{self.send_id} · {self.at:%Y-%m-%d %H:%M}" if self.at else f"#{self.send_id}"
