"""Beat schedules of the certification app (installed by `manage.py install_schedules`)."""

from django.utils.translation import gettext_noop

SCHEDULES = [
    {
        "name": gettext_noop("certification: fail timed-out orders"),  # shown translated in the admin
        "task": "certification.fail_timed_out_orders",
        "crontab": {"minute": "5", "hour": "0"},
        "description": "R-CERT-12: no resubmission within 30 days of the first rejection.",
    },
    {
        "name": gettext_noop("certification: expire missed annual reviews"),  # shown translated in the admin
        "task": "certification.expire_certifications",
        "crontab": {"minute": "10", "hour": "0"},
        "description": "R-POST-04: the certification lapses the day after it expires.",
    },
    {
        "name": gettext_noop("certification: send deadline reminders"),  # shown translated in the admin
        "task": "certification.send_reminders",
        "crontab": {"minute": "0", "hour": "9"},
        "description": "R-POST-02 / R-CERT-10 / R-CERT-12 reminders, once per order and milestone.",
    },
]
