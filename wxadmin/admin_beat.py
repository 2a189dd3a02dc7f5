"""django-celery-beat's schedule pages with the schedule said in the staff member's language.

The package describes a crontab in English only ("At 17 minutes past the hour"); its own
dependency, cron-descriptor, speaks Chinese too. These admin classes replace the package's
"human readable" / "crontab translation" / "scheduler" columns with one translated
"schedule" column; the crontab choices are described the same way; everything else is the package's admin.

Issue 22 §2: every page here is installation-wide (accounts/installation.py: superusers and
holders of accounts.operate_installation), and a periodic task can only run a
*schedule-safe* task: one some app declares in its `schedules.py` (sweeps over all accounts
that take no account id), with no positional arguments and only the keyword arguments its
declaration names, of the declared types. `accounts.refresh_account_token` with another
tenant's account id every 3 s, or `messaging.outbound_deliver` with any id, cannot be saved.
"""

from __future__ import annotations

import json
from typing import Any

from cron_descriptor import ExpressionDescriptor, FormatException, Options
from django import forms
from django.contrib import admin
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from accounts.installation import InstallationAdminMixin

from .schedules import collect_schedules

#: Django language → cron-descriptor locale (others read English)
CRON_LOCALES = {"zh-hans": "zh_CN"}


def crontab_expression(crontab: CrontabSchedule) -> str:
    return " ".join(
        (crontab.minute, crontab.hour, crontab.day_of_month, crontab.month_of_year, crontab.day_of_week)
    )


def describe_crontab(crontab: CrontabSchedule | None) -> str:
    """ "在每小时的 17 分（17 * * * *，Asia/Shanghai）" in the active language."""
    if crontab is None:
        return "—"
    options = Options()
    options.locale_code = CRON_LOCALES.get(get_language() or "", "en_US")
    options.use_24hour_time_format = True
    expression = crontab_expression(crontab)
    try:
        text = ExpressionDescriptor(expression, options).get_description()
    except (FormatException, ValueError):
        text = expression
    return f"{text} ({expression}, {crontab.timezone})"


def describe_schedule(task: PeriodicTask) -> str:
    if task.crontab_id:
        return describe_crontab(task.crontab)
    return str(task.interval or task.solar or task.clocked or "—")


def schedule_safe_tasks() -> dict[str, dict[str, Any]]:
    """Task name → the keyword arguments its declaration allows (name → declared value)."""
    allowed: dict[str, dict[str, Any]] = {}
    for spec in collect_schedules():
        allowed.setdefault(spec["task"], {}).update(spec.get("kwargs", {}))
    return allowed


class SchedulableTaskForm(beat_admin.PeriodicTaskForm):
    """A periodic task runs a schedule-safe task with no ids in its arguments (issue 22 §2)."""

    regtask = forms.ChoiceField(label=_("task"), required=False)  # the package lists every task

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["regtask"].choices = [("", "---------")] + [(n, n) for n in sorted(schedule_safe_tasks())]

    def clean(self):
        data = super().clean()
        task = data.get("task") or ""
        allowed = schedule_safe_tasks()
        if task and task not in allowed:
            self.add_error(
                "task", gettext("Only the tasks the apps schedule themselves can be scheduled here.")
            )
            return data
        try:
            args = json.loads(data.get("args") or "[]")
            kwargs = json.loads(data.get("kwargs") or "{}")
        except ValueError:
            return data  # the package's clean_args / clean_kwargs said so already
        if args not in ([], None):
            self.add_error("args", gettext("Scheduled tasks take no positional arguments."))
        declared = allowed.get(task, {})
        if not isinstance(kwargs, dict) or any(
            key not in declared or type(value) is not type(declared[key]) for key, value in kwargs.items()
        ):
            self.add_error(
                "kwargs",
                gettext("Keyword arguments allowed for this task: %(names)s.")
                % {"names": ", ".join(sorted(declared)) or gettext("none")},
            )
        return data


class PeriodicTaskInline(beat_admin.PeriodicTaskInline):
    """The tasks using a schedule; the package labels its task column "Task Name" untranslated."""

    fields = tuple("task_label" if name == "task" else name for name in beat_admin.PeriodicTaskInline.fields)
    readonly_fields = fields

    @admin.display(description=_("task"))
    def task_label(self, obj) -> str:
        return obj.task


for model in (CrontabSchedule, PeriodicTask, ClockedSchedule, IntervalSchedule, SolarSchedule):
    admin.site.unregister(model)


for model, base in (
    (ClockedSchedule, beat_admin.ClockedScheduleAdmin),
    (IntervalSchedule, beat_admin.IntervalScheduleAdmin),
    (SolarSchedule, beat_admin.SolarScheduleAdmin),
):
    admin.site.register(
        model, type(base.__name__, (InstallationAdminMixin, base), {"inlines": [PeriodicTaskInline]})
    )


@admin.register(CrontabSchedule)
class CrontabScheduleAdmin(InstallationAdminMixin, beat_admin.CrontabScheduleAdmin):
    inlines = [PeriodicTaskInline]
    list_display = ("schedule_text",)
    fields = ("schedule_text", "minute", "hour", "day_of_month", "month_of_year", "day_of_week", "timezone")
    readonly_fields = ("schedule_text",)

    @admin.display(description=_("schedule"))
    def schedule_text(self, obj) -> str:
        return describe_crontab(obj) if obj.pk else "—"


@admin.register(PeriodicTask)
class PeriodicTaskAdmin(InstallationAdminMixin, beat_admin.PeriodicTaskAdmin):
    form = SchedulableTaskForm
    list_display = ("task_name", "enabled", "schedule_text", "start_time", "last_run_at", "one_off")
    readonly_fields = ("last_run_at", "schedule_text")
    # the package's form template only adds an inline script writing "Translation: …" in
    # English under the crontab; the crontab choices here are described already
    change_form_template = "admin/change_form.html"
    fieldsets = tuple(
        (
            title,
            {
                **options,
                "fields": tuple(
                    "schedule_text" if f == "crontab_translation" else f for f in options["fields"]
                ),
            },
        )
        for title, options in beat_admin.PeriodicTaskAdmin.fieldsets
    )

    @admin.display(description=_("schedule"))
    def schedule_text(self, obj) -> str:
        return describe_schedule(obj) if obj.pk else "—"

    @admin.display(description=_("name"), ordering="name")
    def task_name(self, obj) -> str:
        """Our schedules' names are stored in English (they are install_schedules' keys)
        and marked for translation where they are defined (<app>/schedules.py)."""
        return gettext(obj.name)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "crontab" and field is not None:
            field.label_from_instance = describe_crontab  # type: ignore[method-assign,assignment]
        return field
