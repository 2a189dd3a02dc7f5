from django.utils.translation import gettext_noop

SCHEDULES = [
    {
        "name": gettext_noop("Apply follow and scan events to followers"),
        "task": "audience.consume_events",
        "every_seconds": 30,
        "description": "issue 24: subscribe/unsubscribe/SCAN from the message log, off the callback's path",
    },
    {
        "name": gettext_noop("Nightly follower reconcile"),
        "task": "audience.reconcile_all",
        "crontab": {"minute": "30", "hour": "3"},
        "description": "issue 24: full sync; followers WeChat no longer lists are marked unsubscribed",
    },
    {
        "name": gettext_noop("Settle unfinished WeChat writes of the audience"),
        "task": "audience.settle_writes",
        "every_seconds": 60,
        "description": "issue 23: audience writes left pending or unanswered are sent or read back",
    },
    {
        "name": gettext_noop("Resume stalled bulk tagging jobs"),
        "task": "audience.resume_stale_bulk_jobs",
        "every_seconds": 300,
        "description": "issue 24: a job whose worker died resumes from its cursor",
    },
]
