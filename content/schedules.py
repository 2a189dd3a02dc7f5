"""Beat schedules of the content app (installed by `manage.py install_schedules`)."""

from django.utils.translation import gettext_noop

SCHEDULES = [
    {
        "name": gettext_noop("content: run scheduled and interrupted mass sends"),
        "task": "content.mass_sweep",
        "every_seconds": 60,
        "description": (
            "Issue 25: mass sends whose chosen time came, sends no worker holds (settled with the "
            "same clientmsgid), accepted sends without their MASSSENDJOBFINISH read back."
        ),
    },
]
