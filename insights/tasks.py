"""insights' Celery tasks. The datacube sync's tasks go here; the report half's are in
``report_tasks`` (imported so that Celery's autodiscovery registers them)."""

from .report_tasks import generate_monthly_reports, generate_report, requeue_stale_reports, rollup_own_figures

__all__ = ["generate_monthly_reports", "generate_report", "requeue_stale_reports", "rollup_own_figures"]
