"""django-celery-beat's schedule pages with the schedule said in the staff member's language.

The package describes a crontab in English only ("At 17 minutes past the hour"); its own
dependency, cron-descriptor, speaks Chinese too. These admin classes replace the package's
"human readable" / "crontab translation" / "scheduler" columns with one translated
"schedule" column; the crontab choices are described the same way; everything else is the package's admin.
"""

from __future__ import annotations

from cron_descriptor import ExpressionDescriptor, FormatException, Options
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
    admin.site.register(model, type(base.__name__, (base,), {"inlines": [PeriodicTaskInline]}))


@admin.register(CrontabSchedule)
class CrontabScheduleAdmin(beat_admin.CrontabScheduleAdmin):
    inlines = [PeriodicTaskInline]
    list_display = ("schedule_text",)
    fields = ("schedule_text", "minute", "hour", "day_of_month", "month_of_year", "day_of_week", "timezone")
    readonly_fields = ("schedule_text",)

    @admin.display(description=_("schedule"))
    def schedule_text(self, obj) -> str:
        return describe_crontab(obj) if obj.pk else "—"


@admin.register(PeriodicTask)
class PeriodicTaskAdmin(beat_admin.PeriodicTaskAdmin):
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
        if db_field.name == "crontab":
            field.label_from_instance = describe_crontab
        return field
