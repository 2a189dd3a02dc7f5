from django.utils.translation import gettext_noop

# CELERY_TIMEZONE is Asia/Shanghai: these hours are Beijing time.
SCHEDULES = [
    {
        "name": gettext_noop("Fetch yesterday's WeChat statistics"),
        "task": "insights.sync_yesterday",
        "crontab": {"minute": "30", "hour": "8"},
        "description": "issue 28: WeChat finishes a day's figures by 08:00 Beijing; missing days are retried",
    },
    {
        "name": gettext_noop("Resume WeChat statistics backfills"),
        "task": "insights.resume_backfills",
        "crontab": {"minute": "15", "hour": "0"},
        "description": "issue 28: a backfill that used up the day's quota goes on with the new day's",
    },
]

# the report half's (own-figure rollups, monthly client reports)
from .report_schedules import SCHEDULES as REPORT_SCHEDULES  # noqa: E402

SCHEDULES = [*SCHEDULES, *REPORT_SCHEDULES]
