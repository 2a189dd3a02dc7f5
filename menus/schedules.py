"""Periodic menu jobs, installed into django-celery-beat by `manage.py install_schedules`."""

from django.utils.translation import gettext_noop

SCHEDULES = [
    {
        "name": gettext_noop("menus: drift check"),  # shown translated in the admin
        "task": "menus.check_drift",
        "crontab": {"minute": "17", "hour": "*"},
        "description": "Compare each account's published menu with WeChat's menu/get and "
        "flag accounts whose live menu differs.",
    },
    {
        "name": gettext_noop("menus: fail stuck publications"),  # shown translated in the admin
        "task": "menus.fail_stuck_versions",
        "every_seconds": 60,
        "description": "Queue again, once, menu versions nobody worked on for too long; "
        "fail those stuck a second time.",
    },
]
