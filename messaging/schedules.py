"""Periodic tasks of the messaging app (installed by `manage.py install_schedules`)."""

SCHEDULES = [
    {
        "name": "messaging: prune the message log",
        "task": "messaging.prune_messages",
        "crontab": {"minute": "17", "hour": "3"},
        "kwargs": {"batch_size": 1000},
        "description": "Deletes messages older than MESSAGE_RETENTION_DAYS, in batches.",
    },
    {
        "name": "messaging: flush the message-log queue",
        "task": "messaging.flush_message_log",
        "every_seconds": 60,
        "description": "Writes queued callback log rows that no web process has written "
                       "(also those a dead process left pending).",
    },
]
