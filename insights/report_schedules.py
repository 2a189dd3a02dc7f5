"""The report half's periodic tasks (issue 28). ``wxadmin.schedules`` reads ``<app>.schedules``
only: ``insights/schedules.py`` (the datacube sync's) adds this list to its ``SCHEDULES``."""

from typing import Any

from django.utils.translation import gettext_noop

SCHEDULES: list[dict[str, Any]] = [
    {
        "name": gettext_noop("Roll up our own figures (insights)"),
        "task": "insights.rollup_own_figures",
        "crontab": {"minute": "20"},
        "description": "issue 28: menu clicks, keyword hits, replies, QR scans and template messages of each "
        "Beijing day into the daily figures; catches up missed days, reruns are harmless",
    },
]
SCHEDULES.append(
    {
        "name": gettext_noop("Queue again lost monthly report requests (insights)"),
        "task": "insights.requeue_stale_reports",
        "every_seconds": 600,
        "description": "issue 28: a report still pending 10 minutes after it was asked for (the broker was "
        "down) is queued again; one already generated is not touched",
    }
)
SCHEDULES.append(
    {
        "name": gettext_noop("Monthly client reports (insights)"),
        "task": "insights.generate_monthly_reports",
        "crontab": {"minute": "0", "hour": "10", "day_of_month": "1"},
        "description": "issue 28: last month's report of every entity with an account, after WeChat's "
        "statistics of the month's last day were synced (08:00); reports already made are left alone",
    }
)
