"""Insights' figures (issue 28): one narrow table of daily figures per account.

WeChat's statistics (``datacube``) and our own rollups (menu clicks, keyword hits, conversations,
QR scans, template sends) land in the same table, so every chart, comparison, export and the
monthly report read one indexed range per account and period, never the logs.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class DailyFigure(models.Model):
    """One figure of one account for one Beijing day, e.g. ``user.new`` = 12.

    ``metric`` is a dotted key (``user.new``, ``user.cumulate``, ``msg.upstream``,
    ``menu.click``…); ``dimension`` splits it where WeChat or we do (a subscribe source,
    a menu button's key), "" when it is not split.
    """

    class Source(models.TextChoices):
        WECHAT = "wechat", _("WeChat statistics")
        OWN = "own", _("our own figures")

    account = models.ForeignKey(
        "accounts.OfficialAccount",
        on_delete=models.CASCADE,
        related_name="daily_figures",
        verbose_name=_("account"),
    )
    day = models.DateField(_("day"))
    metric = models.CharField(_("metric"), max_length=64)
    dimension = models.CharField(_("dimension"), max_length=128, blank=True, default="")
    value = models.BigIntegerField(_("value"))
    source = models.CharField(_("source"), max_length=8, choices=Source.choices)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("daily figure")
        verbose_name_plural = _("daily figures")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "metric", "dimension", "day"], name="insights_daily_figure_unique"
            )
        ]
        # issue 28 (report half): the pages read the totals (dimension "") of a set of accounts
        # over a period, every metric: an index-only scan of exactly those rows, whatever else
        # the account holds (breakdowns go through the unique index: account, metric, …)
        indexes = [
            models.Index(
                fields=["account", "day"],
                include=["metric", "value", "source"],
                condition=models.Q(dimension=""),
                name="insights_figure_totals",
            ),
            # the breakdowns (every split metric of a period: sources, buttons, articles…) read
            # the split rows of the period only; without it PostgreSQL scanned every row of the
            # account (or the table), 40–70 ms for three years of figures
            models.Index(
                fields=["account", "day"],
                include=["metric", "dimension", "value"],
                condition=~models.Q(dimension=""),
                name="insights_figure_splits",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.metric}{'/' + self.dimension if self.dimension else ''} = {self.value}"


# issue 28, the report half: our own rollup's progress and the monthly client reports
from .report_models import Report, RollupDay  # noqa: E402

# The WeChat-statistics sync's own rows (sync state per day, backfills): a module of their own.
from .sync_models import Area, Backfill, SyncDay  # noqa: E402

__all__ = ["Area", "Backfill", "DailyFigure", "Report", "RollupDay", "SyncDay"]
