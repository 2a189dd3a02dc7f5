"""Publications (发布): a draft submitted with ``freepublish/submit``, followed by
``freepublish/get`` and the ``PUBLISHJOBFINISH`` event."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PublicationStatus(models.TextChoices):
    #: the intent, written before freepublish/submit
    SUBMITTING = "submitting", _("being submitted")
    PUBLISHING = "publishing", _("publishing (WeChat is reviewing)")
    PUBLISHED = "published", _("published")
    FAILED = "failed", _("failed")
    #: the submit may have reached WeChat without an answer
    UNKNOWN = "unknown", _("outcome unknown")
    #: published, then deleted by the user or banned by WeChat (publish_status 5 and 6)
    WITHDRAWN = "withdrawn", _("deleted or banned after publishing")


class Publication(models.Model):
    """One publish job of one draft. R-CONTENT-04: the intent is written before the submit; the
    job's state comes from WeChat (freepublish/get or PUBLISHJOBFINISH), never assumed."""

    account = models.ForeignKey(
        "accounts.OfficialAccount",
        on_delete=models.CASCADE,
        related_name="publications",
        verbose_name=_("account"),
    )
    draft = models.ForeignKey(
        "content.Draft",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="publications",
        verbose_name=_("draft"),
    )
    title = models.CharField(_("title"), max_length=64)
    media_id = models.CharField(_("WeChat media ID"), max_length=128)
    publish_id = models.CharField(_("publish ID"), max_length=64, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=PublicationStatus.choices, default=PublicationStatus.SUBMITTING
    )
    publish_status = models.IntegerField(_("WeChat publish status"), null=True, blank=True)
    article_id = models.CharField(_("article ID"), max_length=128, blank=True)
    article_urls = models.JSONField(_("article URLs"), default=list, blank=True)
    fail_idx = models.JSONField(_("failed articles"), default=list, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    polls = models.PositiveIntegerField(_("status checks"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("published by"),
    )
    created_at = models.DateTimeField(_("submitted at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("publication")
        verbose_name_plural = _("publications")
        ordering = ("-created_at", "-id")
        permissions = [("publish_draft", _("Can publish drafts"))]
        indexes = [
            models.Index(fields=["account", "-created_at"], name="content_publication_by_time"),
            models.Index(fields=["status"], name="content_publication_status"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "publish_id"],
                condition=~models.Q(publish_id=""),
                name="content_publication_unique_job",
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def url(self) -> str:
        return next((u for u in self.article_urls or [] if u), "")
