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
    {
        "name": gettext_noop("content: settle drafts and publications"),
        "task": "content.sweep",
        "every_seconds": 120,
        "description": "Issue 25, R-CONTENT-03: unknown pushes and submissions read back from WeChat.",
    },
]
