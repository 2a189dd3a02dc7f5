"""Periodic jobs of the api app, installed by `manage.py install_schedules`."""

from django.utils.translation import gettext_noop

SCHEDULES = [
    {
        "name": gettext_noop("api: write the call log"),  # shown translated in the admin
        "task": "api.flush_calls",
        "every_seconds": 10,
        "description": "Move the audit rows of API calls queued in Redis into the call log (issue 27).",
    },
    {
        "name": gettext_noop("api: forget old idempotency keys"),
        "task": "api.prune_idempotency",
        "every_seconds": 3600,
        "description": "Delete the Idempotency-Key answers older than API_IDEMPOTENCY_HOURS (issue 27).",
    },
]
