"""Periodic tasks of the accounts app (installed by `manage.py install_schedules`)."""

from django.utils.translation import gettext_noop

SCHEDULES = [
    {
        "name": gettext_noop("Refresh WeChat access tokens ahead of expiry"),  # shown translated in the admin
        "task": "accounts.refresh_expiring_tokens",
        "every_seconds": 60,
        "description": "R-MENU-04: one refresher per account; see TOKEN_REFRESH_WINDOW_SECONDS.",
    },
]
