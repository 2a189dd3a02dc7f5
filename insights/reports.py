"""The monthly client report (issue 28): for an entity and a month, one printable page in
Chinese with the figures and charts of each of its accounts, and a PDF made from it.

The page is our own template (``insights/report.html``) drawn from ``figures_for`` per account
(and for the entity as a whole), with the charts as server-side SVG, so the same HTML is shown
in the browser (``views.report_page``) and printed to PDF by WeasyPrint — a library, in the
worker's process: no browser to run in production, no JavaScript to wait for. The text is
Chinese whatever the staff member's language (the client reads it).

``request_report`` records the wish first (a ``Report`` row, "pending") and queues
``generate``; ``generate_month`` (the monthly task) does so for every entity with accounts.
A report is kept (``MEDIA_ROOT/private/reports``) and replaced when generated again.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Mapping

from celery import current_app
from django.contrib.auth.models import AnonymousUser, User
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Entity, OfficialAccount
from accounts.selectors import accounts_visible_to
from core.domain_errors import DomainError
from core.queueing import enqueue_on_commit
from core.typing import Actor

from .figures import Period, figures_for
from .models import Report
from .page import page_context

logger = logging.getLogger(__name__)

#: the language of the report (the client's), whatever the staff member reads
REPORT_LANGUAGE = "zh-hans"
#: ``report_tasks.generate_report``
GENERATE_TASK = "insights.generate_report"


class ReportError(DomainError):
    pass


def sees_whole_entity(user: User | AnonymousUser, entity: Entity) -> bool:
    """A report shows every account of its entity: only staff who see them all may fetch it."""
    if user.is_superuser:
        return True
    all_ids = set(OfficialAccount.objects.filter(entity=entity).values_list("pk", flat=True))
    if not all_ids:
        return False
    seen = set(accounts_visible_to(user).filter(entity=entity).values_list("pk", flat=True))
    return seen == all_ids


def first_of_month(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def previous_month(today: datetime.date | None = None) -> datetime.date:
    today = today or timezone.localdate()
    return (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)


def render_html(
    entity: Entity,
    month: datetime.date,
    *,
    names: Mapping[int, str] | None = None,
    today: datetime.date | None = None,
) -> str:
    """The printable page of ``entity`` for ``month`` (``names``: the accounts to show, by
    default all of the entity's)."""
    period = Period.month(month)
    if names is None:
        names = dict(OfficialAccount.objects.filter(entity=entity).order_by("name").values_list("pk", "name"))
    with translation.override(REPORT_LANGUAGE):
        sections = []
        for account_id, name in names.items():
            figures = figures_for([account_id], period, names={account_id: name}, today=today)
            sections.append({"name": name, **page_context(figures, names={account_id: name}, compact=True)})
        total = None
        if len(names) > 1:
            figures = figures_for(names.keys(), period, names=dict(names), today=today)
            total = page_context(figures, names=dict(names), compact=True)
        return render_to_string(
            "insights/report.html",
            {
                "entity": entity,
                "month": period.start,
                "period": period,
                "sections": sections,
                "total": total,
                "generated_at": timezone.localtime(),
                "account_count": len(names),
            },
        )


def html_to_pdf(html: str) -> bytes:
    """Print the page to PDF with WeasyPrint (imported here: the web process rarely needs it)."""
    from weasyprint import HTML

    return HTML(string=html, base_url=None).write_pdf()  # type: ignore[no-any-return]


def request_report(*, entity: Entity, month: datetime.date, by: Actor) -> Report:
    """Record that the report of ``entity`` for ``month`` is wanted, then queue it."""
    month = first_of_month(month)
    if month > timezone.localdate():
        raise ReportError(str(_("A report is made for a month that has begun.")))
    if not OfficialAccount.objects.filter(entity=entity).exists():
        raise ReportError(str(_("This entity has no official account: there is nothing to report.")))
    with transaction.atomic():
        report, _created = Report.objects.update_or_create(
            entity=entity,
            month=month,
            defaults={"status": Report.Status.PENDING, "error": "", "created_by": by},
        )
        # by name: report_tasks imports this module (no circle between the two)
        enqueue_on_commit(current_app.signature(GENERATE_TASK), report.pk)
    return report


def generate(report_id: int, *, today: datetime.date | None = None) -> Report:
    """Make the PDF of one report and keep it; a failure is recorded on the row, in words."""
    report = Report.objects.select_related("entity").get(pk=report_id)
    started = time.process_time()
    try:
        accounts = dict(
            OfficialAccount.objects.filter(entity=report.entity).order_by("name").values_list("pk", "name")
        )
        html = render_html(report.entity, report.month, names=accounts, today=today)
        pdf = html_to_pdf(html)
    except Exception as exc:  # recorded for staff, then raised for the task's log
        Report.objects.filter(pk=report.pk).update(
            status=Report.Status.FAILED, error=f"{type(exc).__name__}: {exc}"
        )
        raise
    missing = figures_for(accounts.keys(), Period.month(report.month), today=today).missing
    old = report.file.name if report.file else ""
    report.file.save(report.filename, ContentFile(pdf), save=False)
    report.status = Report.Status.DONE
    report.size = len(pdf)
    report.accounts = len(accounts)
    report.missing_days = len({day for item in missing for day in item.days})
    report.error = ""
    report.generated_at = timezone.now()
    report.cpu_seconds = round(time.process_time() - started, 3)
    report.save()
    if old and old != report.file.name:
        report.file.storage.delete(old)
    return report


#: a report still "pending" this long after it was asked for lost its task (broker down, worker
#: killed): the sweep queues it again
STALE_AFTER = datetime.timedelta(minutes=10)


def requeue_stale(*, now: datetime.datetime | None = None) -> int:
    """Queue again the reports asked for more than ``STALE_AFTER`` ago and still pending."""
    cutoff = (now or timezone.now()) - STALE_AFTER
    ids = list(
        Report.objects.filter(status=Report.Status.PENDING, requested_at__lt=cutoff).values_list(
            "pk", flat=True
        )
    )
    for report_id in ids:
        enqueue_on_commit(current_app.signature(GENERATE_TASK), report_id)
    return len(ids)


def generate_month(*, month: datetime.date | None = None) -> int:
    """The monthly task: every entity with an account gets last month's report (made again
    only if it is not done yet, so a second run changes nothing). Returns how many were queued."""
    month = first_of_month(month or previous_month())
    done = set(
        Report.objects.filter(month=month, status=Report.Status.DONE).values_list("entity_id", flat=True)
    )
    queued = 0
    for entity in Entity.objects.filter(accounts__isnull=False).distinct().order_by("pk"):
        if entity.pk not in done:
            request_report(entity=entity, month=month, by=None)
            queued += 1
    return queued
