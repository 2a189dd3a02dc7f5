"""Periodic tasks of the messaging app (installed by `manage.py install_schedules`)."""
from django.utils.translation import gettext_noop

SCHEDULES = [
    {
        "name": gettext_noop("messaging: prune the message log"),  # shown translated in the admin
        "task": "messaging.prune_messages",
        "crontab": {"minute": "17", "hour": "3"},
        "kwargs": {"batch_size": 1000},
        "description": "Deletes messages older than MESSAGE_RETENTION_DAYS, in batches.",
    },
    {
        "name": "messaging: fail replies stuck on their way",
        "task": "messaging.outbound_fail_stuck",
        "every_seconds": 300,
        "description": "Replies to users pending or sending for 15 minutes are marked failed.",
    },
]
