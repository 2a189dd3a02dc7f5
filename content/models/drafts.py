"""A draft of one or more articles, kept here and pushed to WeChat's draft box (``draft/*``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Draft(models.Model):
    """One draft of one account; ``media_id`` is WeChat's once it has been pushed with ``draft/add``.

    Publishing (``freepublish/submit``) and mass sends (``message/mass/*`` of type mpnews) take
    this ``media_id``.
    """

    account = models.ForeignKey(
        "accounts.OfficialAccount",
        on_delete=models.CASCADE,
        related_name="drafts",
        verbose_name=_("account"),
    )
    title = models.CharField(_("title"), max_length=64)
    media_id = models.CharField(_("WeChat media ID"), max_length=128, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("draft")
        verbose_name_plural = _("drafts")
        indexes = [models.Index(fields=["account", "-updated_at", "id"], name="content_draft_by_time")]

    def __str__(self) -> str:
        return self.title
