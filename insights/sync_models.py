"""The WeChat-statistics sync's own rows (issue 28): where each day of each area stands, and
the backfills staff started. ``models.py`` imports this module, so Django finds the models.

A **SyncDay** is one (account, area, Beijing day): ``pending`` (to fetch), ``ok`` (WeChat's
figures are in ``DailyFigure``, written in the same transaction) or ``missing`` (WeChat
answered an error: its code and words, how many attempts; never filled with zeros, retried by
the daily sync until ``INSIGHTS_MISSING_MAX_ATTEMPTS``, then on request). A **Backfill** is a
chosen range of one account, fetched in windows of each API's span within the daily quota; its
progress is counted from the SyncDay rows of its range, so a killed worker resumes where the
last committed window ended and nothing is counted twice.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Area(models.TextChoices):
    """A WeChat statistics API, as the sync knows it (``wechat/api/datacube.py``)."""

    USER_SUMMARY = "user_summary", _("follower growth (getusersummary)")
    USER_CUMULATE = "user_cumulate", _("total followers (getusercumulate)")
    UPSTREAM_MSG = "upstream_msg", _("messages from users (getupstreammsg)")
    INTERFACE = "interface", _("callback calls (getinterfacesummary)")
    ARTICLES = "articles", _("published content (getbizsummary)")
    UPSTREAM_DIST = "upstream_dist", _("users by messages sent (getupstreammsgdist)")
    ARTICLE_READ = "article_read", _("readers per article (getarticleread)")
    ARTICLE_SHARE = "article_share", _("sharers per article (getarticleshare)")


class SyncDay(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        OK = "ok", _("fetched")
        MISSING = "missing", _("missing (WeChat answered an error)")

    account = models.ForeignKey(
        "accounts.OfficialAccount",
        on_delete=models.CASCADE,
        related_name="insights_sync_days",
        verbose_name=_("account"),
    )
    area = models.CharField(_("statistics"), max_length=16, choices=Area.choices)
    day = models.DateField(_("day"))
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("failed attempts"), default=0)
    errcode = models.IntegerField(_("WeChat error code"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    last_tried_at = models.DateTimeField(_("last tried at"), null=True, blank=True)
    synced_at = models.DateTimeField(_("fetched at"), null=True, blank=True)

    class Meta:
        verbose_name = _("statistics sync day")
        verbose_name_plural = _("statistics sync days")
        ordering = ["-day", "area"]
        constraints = [
            models.UniqueConstraint(fields=["account", "area", "day"], name="insights_sync_day_unique")
        ]
        indexes = [models.Index(fields=["account", "status", "day"], name="insights_syncday_todo")]

    def __str__(self) -> str:
        return f"{self.account} {self.get_area_display()} {self.day}"


class Backfill(models.Model):
    """A range of one account's WeChat statistics to fetch (at most a year); one open per account."""

    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        WAITING_QUOTA = "waiting_quota", _("waiting for tomorrow's quota")
        DONE = "done", _("done")
        CANCELLED = "cancelled", _("cancelled")

    OPEN = (Status.RUNNING, Status.WAITING_QUOTA)

    account = models.ForeignKey(
        "accounts.OfficialAccount",
        on_delete=models.CASCADE,
        related_name="insights_backfills",
        verbose_name=_("account"),
    )
    start = models.DateField(_("first day"))
    end = models.DateField(_("last day"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.RUNNING)
    days_total = models.PositiveIntegerField(_("days × statistics"), default=0)
    days_done = models.PositiveIntegerField(_("fetched"), default=0)
    days_missing = models.PositiveIntegerField(_("missing"), default=0)
    note = models.CharField(_("note"), max_length=300, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    created_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("statistics backfill")
        verbose_name_plural = _("statistics backfills")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=models.Q(status__in=["running", "waiting_quota"]),
                name="insights_one_open_backfill",
            )
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.start}–{self.end}"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def progress(self) -> int:
        """Percent of the range's (day, statistics) pairs settled: fetched or missing."""
        if not self.days_total:
            return 0
        return min(100, round(100 * (self.days_done + self.days_missing) / self.days_total))

    def covers(self, day: datetime.date) -> bool:
        return self.start <= day <= self.end
