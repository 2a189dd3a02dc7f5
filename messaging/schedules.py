"""Periodic tasks of the messaging app (installed by `manage.py install_schedules`)."""

SCHEDULES = [
    {
        "name": "messaging: prune the message log",
        "task": "messaging.prune_messages",
        "crontab": {"minute": "17", "hour": "3"},
        "kwargs": {"batch_size": 1000, "pause_seconds": 0.2, "max_seconds": 1800},
        "description": "Deletes messages older than MESSAGE_RETENTION_DAYS, in batches.",
    },
    {
        "name": "messaging: daily message counts",
        "task": "messaging.refresh_daily_counts",
        "every_seconds": 60,
        "description": "Recounts today's messages per account for the dashboard.",
    },
]
