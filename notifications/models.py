"""Template messages (模板消息, issue 26): an account's templates and industry, sends to one
follower, a tag or a CSV of OpenIDs, and the delivery log, one row per message.

A send's status changes only through `transitions.TRANSITIONS`; a delivery's status records
what is known of one message: the intent is written before the call to WeChat
(`CALLING`), WeChat's `msgid` after it (`SENT`), and the TEMPLATESENDJOBFINISH push last
(`DELIVERED`, `USER_BLOCK`, `SYSTEM_FAILED`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import OfficialAccount


class Industry(models.Model):
    """The account's two industries for templates (template/get_industry), as last synced."""

    account = models.OneToOneField(
        OfficialAccount, on_delete=models.CASCADE, related_name="template_industry", verbose_name=_("account")
    )
    primary = models.CharField(_("primary industry"), max_length=100, blank=True)
    secondary = models.CharField(_("secondary industry"), max_length=100, blank=True)
    synced_at = models.DateTimeField(_("synced at"), auto_now=True)

    class Meta:
        verbose_name = _("template industry")
        verbose_name_plural = _("template industries")

    def __str__(self) -> str:
        return f"{self.primary} / {self.secondary}"


class Template(models.Model):
    """One private template of an account, as WeChat listed it at the last sync."""

    account = models.ForeignKey(
        OfficialAccount, on_delete=models.CASCADE, related_name="message_templates", verbose_name=_("account")
    )
    template_id = models.CharField(_("template ID"), max_length=64)
    title = models.CharField(_("title"), max_length=100)
    content = models.TextField(_("content"), blank=True)
    example = models.TextField(_("example"), blank=True)
    primary_industry = models.CharField(_("primary industry"), max_length=100, blank=True)
    deputy_industry = models.CharField(_("deputy industry"), max_length=100, blank=True)
    #: [[name, kind], …] parsed from the content ({{thing1.DATA}} -> ["thing1", "thing"])
    keywords = models.JSONField(_("keywords"), default=list, blank=True)
    synced_at = models.DateTimeField(_("synced at"), auto_now=True)

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ("account", "title")
        constraints = [
            models.UniqueConstraint(fields=("account", "template_id"), name="notifications_template_unique")
        ]

    def __str__(self) -> str:
        return self.title


class SendStatus(models.TextChoices):
    AWAITING_CONFIRMATION = "awaiting_confirmation", _("Awaiting confirmation")
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    PAUSED = "paused", _("Paused")
    WAITING_QUOTA = "waiting_quota", _("Waiting for tomorrow's quota")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


class TargetKind(models.TextChoices):
    ONE = "one", _("One follower")
    TAG = "tag", _("A tag")
    CSV = "csv", _("A CSV of OpenIDs")


class Send(models.Model):
    """One sending job: a template, its recipients, and its progress."""

    account = models.ForeignKey(
        OfficialAccount, on_delete=models.CASCADE, related_name="template_sends", verbose_name=_("account")
    )
    template = models.ForeignKey(
        Template, on_delete=models.SET_NULL, null=True, related_name="sends", verbose_name=_("template")
    )
    wechat_template_id = models.CharField(_("template ID"), max_length=64)
    template_title = models.CharField(_("template title"), max_length=100, blank=True)
    target_kind = models.CharField(_("recipients"), max_length=10, choices=TargetKind.choices)
    tag_id = models.PositiveIntegerField(_("tag ID"), null=True, blank=True)
    data = models.JSONField(_("values"), default=dict, blank=True)
    url = models.URLField(_("link"), max_length=500, blank=True)
    miniprogram_appid = models.CharField(_("mini program AppID"), max_length=32, blank=True)
    miniprogram_pagepath = models.CharField(_("mini program page"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=24, choices=SendStatus.choices, default=SendStatus.QUEUED, db_index=True
    )
    status_note = models.CharField(_("note"), max_length=300, blank=True)
    total = models.PositiveIntegerField(_("recipients"), default=0)
    sent = models.PositiveIntegerField(_("sent"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)
    resume_at = models.DateTimeField(_("resumes at"), null=True, blank=True)
    #: a CSV's rows left out, [[row number, reason], …], shown for staff to confirm the rest
    bad_rows = models.JSONField(_("rows left out"), default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("template send")
        verbose_name_plural = _("template sends")
        ordering = ("-created_at",)
        permissions = [("send_template_message", _("Can send template messages"))]

    def __str__(self) -> str:
        return f"{self.template_title or self.wechat_template_id} #{self.pk}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    CALLING = "calling", _("Sending to WeChat")
    SENT = "sent", _("Sent, awaiting result")
    DELIVERED = "delivered", _("Delivered")
    USER_BLOCK = "user_block", _("User blocked the account")
    SYSTEM_FAILED = "system_failed", _("WeChat system failure")
    REFUSED = "refused", _("Refused by WeChat")
    UNKNOWN = "unknown", _("Outcome unknown")
    CANCELLED = "cancelled", _("Cancelled")


#: Statuses after which nothing more is sent for a delivery.
FINAL_DELIVERY_STATUSES = frozenset(
    {
        DeliveryStatus.DELIVERED,
        DeliveryStatus.USER_BLOCK,
        DeliveryStatus.SYSTEM_FAILED,
        DeliveryStatus.REFUSED,
        DeliveryStatus.UNKNOWN,
        DeliveryStatus.CANCELLED,
    }
)


class Delivery(models.Model):
    """One template message to one OpenID: the delivery log."""

    send = models.ForeignKey(
        Send, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("send")
    )
    account = models.ForeignKey(
        OfficialAccount, on_delete=models.CASCADE, related_name="+", verbose_name=_("account")
    )
    template_id = models.CharField(_("template ID"), max_length=64)
    openid = models.CharField(_("OpenID"), max_length=64)
    row_number = models.PositiveIntegerField(_("CSV row"), null=True, blank=True)
    data = models.JSONField(_("values"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    msgid = models.BigIntegerField(_("msgid"), null=True, blank=True)
    errcode = models.IntegerField(_("error code"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    called_at = models.DateTimeField(_("called at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("template message delivery")
        verbose_name_plural = _("template message deliveries")
        ordering = ("-id",)
        indexes = [
            models.Index(fields=("send", "status", "id"), name="notif_delivery_send_status"),
            models.Index(fields=("account", "msgid"), name="notif_delivery_msgid"),
            models.Index(fields=("openid", "id"), name="notif_delivery_openid"),
            models.Index(fields=("status", "id"), name="notif_delivery_status"),
            models.Index(fields=("created_at",), name="notif_delivery_created"),
        ]

    def __str__(self) -> str:
        return f"{self.openid} · {self.get_status_display()}"
