"""Periodic tasks of the messaging app (installed by `manage.py install_schedules`)."""

from django.utils.translation import gettext_noop

SCHEDULES = [
    {
        "name": gettext_noop("messaging: prune the message log"),  # shown translated in the admin
        "task": "messaging.prune_messages",
        # hourly, each run inside the task time limit (a run longer than the broker's
        # visibility timeout would be handed to a second worker); each resumes where the
        # last one stopped
        "crontab": {"minute": "17", "hour": "*"},
        "kwargs": {"batch_size": 1000, "pause_seconds": 0.2, "max_seconds": 45},
        "description": "Drops the message log's months older than MESSAGE_RETENTION_DAYS "
        "(PostgreSQL; rows in batches on SQLite and in the default partition).",
    },
    {
        "name": gettext_noop("messaging: create the message log's partitions ahead"),
        "task": "messaging.partitions_ensure_ahead",
        # daily, so that a failed run (a lock not granted) has weeks to succeed before
        # its month begins; months already there are left alone
        "crontab": {"minute": "41", "hour": "3"},
        "kwargs": {"months": 3},
        "description": "Creates the monthly partitions of the message log up to three months "
        "ahead (PostgreSQL); a message outside them goes to the default partition.",
    },
    {
        "name": gettext_noop("messaging: fail replies stuck on their way"),
        "task": "messaging.outbound_fail_stuck",
        "every_seconds": 30,
        "description": "Queues again replies whose task was lost (Redis down, a worker killed); "
        "replies no task settled for 15 minutes are marked failed.",
    },
    {
        "name": gettext_noop("messaging: flush the message-log queue"),
        "task": "messaging.flush_message_log",
        "every_seconds": 60,
        "description": "Writes queued callback log rows that no web process has written "
        "(also those a dead process left pending).",
    },
    {
        "name": gettext_noop("messaging: daily message counts"),
        "task": "messaging.refresh_daily_counts",
        "every_seconds": 60,
        "description": "Recounts today's messages per account for the dashboard.",
    },
    {
        "name": gettext_noop("messaging: repair the conversation table"),
        "task": "messaging.conversations_repair",
        "every_seconds": 600,
        "description": "Recomputes the conversations of users who wrote or were answered in "
        "the last hour from the message log (the list and the dashboard read that table).",
    },
    {
        "name": gettext_noop("messaging: queue lost customer-service operations again"),
        "task": "messaging.kf_operations_sweep",
        "every_seconds": 60,
        "description": "Customer-service operations written while Redis was down, or whose "
        "task was lost with a worker, are queued again (issue 23).",
    },
]
