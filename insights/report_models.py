"""Insights' own rows beside ``DailyFigure`` (issue 28): how far our own rollup got, and the
monthly client reports. Imported at the end of ``insights/models.py``."""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


def get_report_storage() -> FileSystemStorage:
    """Reports live outside any served directory (``MEDIA_ROOT/private/reports``): only the
    scoped download view serves them. A callable, so migrations do not record the path."""
    return FileSystemStorage(location=settings.MEDIA_ROOT / "private", base_url=None)


class RollupDay(models.Model):
    """One Beijing day of our own figures, rolled up (``insights.rollups``).

    A day is ``final`` once it was rolled up at least ``FINAL_AFTER`` after it ended (rows the
    log flusher committed late are in); until then the hourly run rolls it up again. A day with
    no row was never rolled up: the pages say so instead of showing zeros.
    """

    day = models.DateField(_("day"), unique=True)
    rolled_at = models.DateTimeField(_("rolled up at"))
    final = models.BooleanField(_("final"), default=False)
    rows = models.PositiveIntegerField(_("figures written"), default=0)

    class Meta:
        verbose_name = _("day of our own figures")
        verbose_name_plural = _("days of our own figures")
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"{self.day}"


def report_upload_to(instance: Report, filename: str) -> str:
    return f"reports/{instance.entity_id}/{instance.month:%Y-%m}-{filename}"


class Report(models.Model):
    """The monthly client report of one entity (主体) and month: the printable page as PDF.

    One row per entity and month: generating again replaces the file (figures may have been
    completed since). ``created_by`` is empty when the monthly task made it.
    """

    class Status(models.TextChoices):
        # with a context: the bare words are translated for certification orders elsewhere
        PENDING = "pending", pgettext_lazy("report", "Waiting to be generated")
        DONE = "done", pgettext_lazy("report", "Generated")
        FAILED = "failed", pgettext_lazy("report", "Failed")

    entity = models.ForeignKey(
        "accounts.Entity", on_delete=models.CASCADE, related_name="insight_reports", verbose_name=_("entity")
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.PENDING)
    file = models.FileField(
        _("PDF"), upload_to=report_upload_to, storage=get_report_storage, blank=True, max_length=200
    )
    size = models.PositiveIntegerField(_("size (bytes)"), default=0)
    accounts = models.PositiveSmallIntegerField(_("accounts"), default=0)
    missing_days = models.PositiveIntegerField(_("days with missing figures"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    generated_at = models.DateTimeField(_("generated at"), null=True, blank=True)
    cpu_seconds = models.FloatField(_("CPU seconds"), default=0)

    class Meta:
        verbose_name = _("monthly client report")
        verbose_name_plural = _("monthly client reports")
        ordering = ["-month", "entity"]
        constraints = [models.UniqueConstraint(fields=["entity", "month"], name="insights_report_unique")]
        indexes = [models.Index(fields=["month"], name="insights_report_month")]

    def __str__(self) -> str:
        return f"{self.entity} {self.month:%Y-%m}"

    @property
    def filename(self) -> str:
        return f"report-{self.entity_id}-{self.month:%Y-%m}.pdf"
