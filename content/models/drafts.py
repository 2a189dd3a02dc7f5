"""A draft of one or more articles, kept here and pushed to WeChat's draft box (``draft/*``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class DraftStatus(models.TextChoices):
    LOCAL = "local", _("not on WeChat yet")
    #: the intent, written before draft/add or draft/update
    PUSHING = "pushing", _("being sent to WeChat")
    SYNCED = "synced", _("on WeChat")
    CHANGED = "changed", _("changed since sent to WeChat")
    #: the call may have reached WeChat without an answer: settled by draft/get or batchget
    UNKNOWN = "unknown", _("outcome unknown")
    FAILED = "failed", _("refused by WeChat")
    PUBLISHING = "publishing", _("publishing")
    PUBLISHED = "published", _("published")


class Draft(models.Model):
    """One draft of one account; ``media_id`` is WeChat's once it has been pushed with ``draft/add``.

    Publishing (``freepublish/submit``) and mass sends (``message/mass/*`` of type mpnews) take
    this ``media_id``. ``articles`` is the working copy (a list of WeChat's article objects,
    the body already sanitised); each save adds a `DraftVersion`.
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
    # issue 25, first half (migration 0002)
    status = models.CharField(
        _("status"), max_length=12, choices=DraftStatus.choices, default=DraftStatus.LOCAL
    )
    articles = models.JSONField(_("articles"), default=list, blank=True)
    #: kept with ``articles`` so that the list never reads the bodies
    article_count = models.PositiveSmallIntegerField(_("articles"), default=0)
    pushed_version = models.PositiveIntegerField(_("version on WeChat"), null=True, blank=True)
    push_started_at = models.DateTimeField(_("sent to WeChat at"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    copied_from = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="copies",
        verbose_name=_("copied from"),
    )

    class Meta:
        verbose_name = _("draft")
        verbose_name_plural = _("drafts")
        indexes = [models.Index(fields=["account", "-updated_at", "id"], name="content_draft_by_time")]

    def __str__(self) -> str:
        return self.title

    @property
    def article_list(self) -> list[dict[str, Any]]:
        return [a for a in (self.articles or []) if isinstance(a, dict)]


class DraftVersion(models.Model):
    """A saved state of a draft's articles (the body sanitised), numbered from 1."""

    draft = models.ForeignKey(
        Draft, on_delete=models.CASCADE, related_name="versions", verbose_name=_("draft")
    )
    number = models.PositiveIntegerField(_("version"))
    articles = models.JSONField(_("articles"), default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("saved by"),
    )
    created_at = models.DateTimeField(_("saved at"), auto_now_add=True)

    class Meta:
        verbose_name = _("draft version")
        verbose_name_plural = _("draft versions")
        ordering = ("-number",)
        constraints = [
            models.UniqueConstraint(fields=["draft", "number"], name="content_draftversion_unique")
        ]

    def __str__(self) -> str:
        return f"{self.draft} v{self.number}"
