"""Beat schedules of content (installed by `manage.py install_schedules`)."""

from django.utils.translation import gettext_noop

SCHEDULES = [
    {
        "name": gettext_noop("content: settle drafts and publications"),
        "task": "content.sweep",
        "every_seconds": 120,
        "description": "Issue 25, R-CONTENT-03: unknown pushes and submissions read back from WeChat.",
    },
]
