"""Periodic jobs of the api app, installed by `manage.py install_schedules`."""

from django.utils.translation import gettext_noop

SCHEDULES = [
    {
        "name": gettext_noop("api: write the call log"),  # shown translated in the admin
        "task": "api.flush_calls",
        "every_seconds": 10,
        "description": "Move the audit rows of API calls queued in Redis into the call log (issue 27).",
    },
]
