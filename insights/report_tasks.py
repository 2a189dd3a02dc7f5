"""insights' tasks of the report half (issue 28): our own rollup and the monthly reports.

Thin: each calls one function. Imported by ``insights/tasks.py`` (Celery's autodiscovery
looks for ``tasks`` only); the datacube sync's tasks live there.
"""

from __future__ import annotations

from celery import shared_task

from . import reports, rollups


@shared_task(name="insights.rollup_own_figures")
def rollup_own_figures() -> int:
    """Roll up our own figures of every due Beijing day (catching up missed ones)."""
    return rollups.rollup_due()


@shared_task(name="insights.generate_report")
def generate_report(report_id: int) -> str:
    """Make one monthly client report's PDF (queued by ``reports.request_report``)."""
    report = reports.generate(report_id)
    return f"{report} {report.size} bytes, {report.cpu_seconds} s CPU"


@shared_task(name="insights.requeue_stale_reports")
def requeue_stale_reports() -> int:
    """Reports whose task was lost (the broker was down when they were asked for) are queued again."""
    return reports.requeue_stale()


@shared_task(name="insights.generate_monthly_reports")
def generate_monthly_reports() -> int:
    """On the 1st: last month's report of every entity with an account (those not done yet)."""
    return reports.generate_month()
