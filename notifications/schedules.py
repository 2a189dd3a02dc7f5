"""Beat schedules of template messages (installed by `manage.py install_schedules`)."""

from django.utils.translation import gettext_noop

SCHEDULES = [
    {
        "name": gettext_noop("notifications: resume template sends"),
        "task": "notifications.resume_sends",
        "every_seconds": 60,
        "description": "Issue 26: sends whose quota day came, or that no worker is running.",
    },
    {
        "name": gettext_noop("notifications: record template message outcomes"),
        "task": "notifications.apply_finish_events",
        "every_seconds": 10,
        "description": "Issue 26: TEMPLATESENDJOBFINISH outcomes queued by the callback.",
    },
    {
        "name": gettext_noop("notifications: prune the delivery log"),
        "task": "notifications.prune_deliveries",
        # hourly, each run inside the task time limit; each resumes where the last stopped
        "crontab": {"minute": "23", "hour": "*"},
        "kwargs": {"batch_size": 5000, "pause_seconds": 0.1, "max_seconds": 45},
        "description": "Issue 26: deliveries older than NOTIFICATIONS_DELIVERY_RETENTION_DAYS, in batches.",
    },
]
