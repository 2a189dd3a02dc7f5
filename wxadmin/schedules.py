"""Periodic tasks defined in code, installed into django-celery-beat's tables.

Each app may have a `schedules.py` with `SCHEDULES`, a list of dicts:
    {"name": "...", "task": "app.task_name", "crontab": {...}} or "every_seconds": N,
    optional "kwargs": {...} and "description".
`install_schedules` creates missing entries and leaves existing ones alone, so that
changes staff make in the admin (enabled, times) survive a redeploy.
"""

import json
from typing import Any

from accounts.app_modules import app_modules


def collect_schedules() -> list[dict[str, Any]]:
    """Gather SCHEDULES from every installed app that has a `schedules` module."""
    found: list[dict[str, Any]] = []
    for module in app_modules("schedules"):
        found.extend(getattr(module, "SCHEDULES", []))
    return found


def install_schedules() -> tuple[int, int]:
    """Create the periodic tasks that do not exist yet. Returns (created, kept)."""
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    created = kept = 0
    for spec in collect_schedules():
        if PeriodicTask.objects.filter(name=spec["name"]).exists():
            kept += 1
            continue
        fields: dict[str, Any] = {
            "name": spec["name"],
            "task": spec["task"],
            "kwargs": json.dumps(spec.get("kwargs", {})),
            "description": spec.get("description", ""),
        }
        if "every_seconds" in spec:
            fields["interval"], _ = IntervalSchedule.objects.get_or_create(
                every=spec["every_seconds"], period=IntervalSchedule.SECONDS
            )
        else:
            crontab = {
                "minute": "0",
                "hour": "*",
                "day_of_week": "*",
                "day_of_month": "*",
                "month_of_year": "*",
                **spec["crontab"],
            }
            fields["crontab"], _ = CrontabSchedule.objects.get_or_create(timezone="Asia/Shanghai", **crontab)
        PeriodicTask.objects.create(**fields)
        created += 1
    return created, kept


# The project's own periodic task: /readyz checks that it ran recently.
SCHEDULES = [
    {
        "name": "Heartbeat (beat → broker → worker), checked by /readyz",
        "task": "wxadmin.heartbeat",
        "every_seconds": 30,
        "description": "Records when a worker last ran it; see HEALTH_HEARTBEAT_MAX_AGE_SECONDS.",
    },
]
