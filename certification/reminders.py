"""Deadline reminders: email + in-admin notification, exactly once per (order, milestone, due date).

The claim is an `INSERT … ON CONFLICT DO NOTHING RETURNING order_id` into the
reminder table (unique on order + milestone) inside the same transaction as the
notifications and the mails: a second run, or a second beat host running at the
same moment, claims nothing and sends nothing. Queries are per batch of due orders,
never per order, so the run stays bounded whatever the number of orders.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.core import mail
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from accounts.models import OfficialAccount

from .models import (
    COMPLETED_STATUSES,
    InvoiceType,
    Milestone,
    Notification,
    Order,
    OrderKind,
    OrderStatus,
    Reminder,
)

BATCH = 500


def lead_days() -> int:
    """How many days before a deadline its reminder goes out (CERTIFICATION_REMINDER_LEAD_DAYS)."""
    return int(getattr(settings, "CERTIFICATION_REMINDER_LEAD_DAYS", 7))


@dataclass(frozen=True)
class MilestoneSpec:
    milestone: str
    due_field: str
    queryset: QuerySet


def due_orders(milestone: str, today: datetime.date) -> tuple[QuerySet, str]:
    """The orders whose `milestone` reminder is due today and not yet sent, and the date field.

    R-POST-02: the annual review 3 months before expiry (the order that set the current
    certification, no annual review already open). R-CERT-12: before the resubmission
    deadline. R-CERT-10: before the invoice-request deadline (no invoice chosen) and
    before the invoice expected-by date (invoice not received).
    """
    window_end = today + datetime.timedelta(days=lead_days())
    due_field = DUE_FIELDS[milestone]
    not_sent = ~Exists(
        Reminder.objects.filter(order=OuterRef("pk"), milestone=milestone, due_on=OuterRef(due_field))
    )
    base = Order.objects.filter(not_sent)
    if milestone == Milestone.ANNUAL_REVIEW:
        open_review = Order.objects.filter(
            account=OuterRef("account"),
            kind=OrderKind.ANNUAL_REVIEW,
            status__in=[
                s for s in OrderStatus.values if s not in (*COMPLETED_STATUSES, OrderStatus.CANCELLED)
            ],
        )
        return base.filter(
            status=OrderStatus.SUCCEEDED,
            annual_review_remind_on__lte=today,
            valid_until__gte=today,
            account__certified_until=F("valid_until"),
        ).exclude(Exists(open_review)), "valid_until"
    if milestone == Milestone.RESUBMISSION:
        return base.filter(
            status=OrderStatus.REJECTED,
            resubmission_deadline__gte=today,
            resubmission_deadline__lte=window_end,
        ), "resubmission_deadline"
    if milestone == Milestone.INVOICE_REQUEST:
        return base.filter(
            status__in=COMPLETED_STATUSES,
            invoice_type=InvoiceType.NONE,
            invoice_requested_at__isnull=True,
            invoice_request_deadline__gte=today,
            invoice_request_deadline__lte=window_end,
        ), "invoice_request_deadline"
    if milestone == Milestone.INVOICE_EXPECTED:
        return base.filter(
            status__in=COMPLETED_STATUSES,
            invoice_type__in=[InvoiceType.VAT_ORDINARY, InvoiceType.VAT_SPECIAL],
            invoice_received_on__isnull=True,
            invoice_expected_by__gte=today,
            invoice_expected_by__lte=window_end,
        ), "invoice_expected_by"
    raise ValueError(milestone)


DUE_FIELDS: dict[str, str] = {
    Milestone.ANNUAL_REVIEW: "valid_until",
    Milestone.RESUBMISSION: "resubmission_deadline",
    Milestone.INVOICE_REQUEST: "invoice_request_deadline",
    Milestone.INVOICE_EXPECTED: "invoice_expected_by",
}

REMINDED = (
    Milestone.ANNUAL_REVIEW,
    Milestone.RESUBMISSION,
    Milestone.INVOICE_REQUEST,
    Milestone.INVOICE_EXPECTED,
)


def _claim(rows: list[tuple[int, datetime.date, int]], milestone: str, now: datetime.datetime) -> set[int]:
    """Insert reminder rows (order, due, recipients); return the order ids this run won.

    Orders whose row exists already (sent by an earlier or concurrent run) are skipped.
    """
    if not rows:
        return set()
    table = Reminder._meta.db_table
    placeholders = ", ".join(["(%s, %s, %s, %s, %s)"] * len(rows))
    params: list = []
    for order_id, due, recipients in rows:
        params += [order_id, milestone, due, now, recipients]
    sql = (
        f"INSERT INTO {table} (order_id, milestone, due_on, sent_at, recipients) "  # noqa: S608
        f"VALUES {placeholders} ON CONFLICT (order_id, milestone, due_on) DO NOTHING "
        f"RETURNING order_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}


def recipients_for(account_ids: set[int]) -> dict[int, list]:
    """The account's assigned, active staff (Finance included when assigned).

    An account nobody is assigned to (the default for demo, imported and
    superuser-added accounts) falls back to the Administrators — active members of
    the group and active superusers — so that a reminder always reaches someone
    (Clarifications, "Reminders reach someone"). An account absent from the result
    has no one at all to tell.
    """
    through = OfficialAccount.assigned_staff.through
    rows = through.objects.filter(officialaccount_id__in=account_ids, user__is_active=True).select_related(
        "user"
    )
    found: dict[int, list] = defaultdict(list)
    for row in rows:
        found[row.officialaccount_id].append(row.user)
    unassigned = [pk for pk in account_ids if pk not in found]
    if unassigned:
        administrators = _administrators()
        if administrators:
            for pk in unassigned:
                found[pk] = administrators
    return found


def _administrators() -> list:
    from django.contrib.auth import get_user_model
    from django.db.models import Q

    from accounts.roles import ADMINISTRATORS

    return list(
        get_user_model()
        .objects.filter(
            Q(groups__name=ADMINISTRATORS) | Q(is_superuser=True),
            is_active=True,
        )
        .distinct()
        .order_by("pk")
    )


def _texts(milestone: str, order: Order, due: datetime.date) -> tuple[str, str]:
    name = order.account_name
    if milestone == Milestone.ANNUAL_REVIEW:
        return (
            _("Annual review due: %(name)s") % {"name": name},
            _(
                "The certification of “%(name)s” expires on %(date)s. Start the annual "
                "review now (same process and 300 CNY fee as the first certification)."
            )
            % {"name": name, "date": due},
        )
    if milestone == Milestone.RESUBMISSION:
        return (
            _("Resubmit by %(date)s: %(name)s") % {"name": name, "date": due},
            _("Order #%(id)s was rejected. Without a resubmission by %(date)s it fails for timeout.")
            % {"id": order.pk, "date": due},
        )
    if milestone == Milestone.INVOICE_REQUEST:
        return (
            _("Request the invoice by %(date)s: %(name)s") % {"name": name, "date": due},
            _("No invoice was chosen for order #%(id)s. A missing invoice can be requested until %(date)s.")
            % {"id": order.pk, "date": due},
        )
    return (
        _("Invoice expected by %(date)s: %(name)s") % {"name": name, "date": due},
        _(
            "Tencent should have issued and mailed the invoice of order #%(id)s by "
            "%(date)s. Record it when it arrives, or chase it."
        )
        % {"id": order.pk, "date": due},
    )


def _link(milestone: str, order: Order) -> str:
    if milestone == Milestone.ANNUAL_REVIEW:
        return reverse("admin:certification_order_start_annual", args=[order.account_id])
    return reverse("admin:certification_order_change", args=[order.pk])


def send_due_reminders(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Send every reminder due today, exactly once per (order, milestone, due date). Returns counts."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    sent: dict[str, int] = {}
    for milestone in REMINDED:
        queryset, due_field = due_orders(milestone, today)
        total = 0
        after = 0  # keyset: orders nobody can be told about stay unsent and are skipped
        while True:
            with transaction.atomic():
                batch = list(queryset.filter(pk__gt=after).select_related("account").order_by("pk")[:BATCH])
                if not batch:
                    break
                after = batch[-1].pk
                staff = recipients_for({o.account_id for o in batch})
                # A reminder that would reach nobody is not claimed: it is not counted as
                # sent and goes out on a later run, once someone can receive it.
                reachable = [o for o in batch if staff.get(o.account_id)]
                won = _claim(
                    [(o.pk, getattr(o, due_field), len(staff[o.account_id])) for o in reachable],
                    milestone,
                    now,
                )
                total += _deliver([o for o in reachable if o.pk in won], staff, milestone, due_field, now)
            if len(batch) < BATCH:
                break
        sent[milestone] = total
    return sent


def _deliver(
    orders: list[Order], staff: dict[int, list], milestone: str, due_field: str, now: datetime.datetime
) -> int:
    if not orders:
        return 0
    notifications, messages = [], []
    site = getattr(settings, "SITE_URL", "").rstrip("/")
    for order in orders:
        due = getattr(order, due_field)
        users = staff.get(order.account_id, [])
        for user in users:
            with override(settings.LANGUAGE_CODE):
                title, body = _texts(milestone, order, due)
            link = _link(milestone, order)
            notifications.append(
                Notification(
                    user=user,
                    order=order,
                    milestone=milestone,
                    title=title,
                    body=body,
                    due_on=due,
                    created_at=now,
                )
            )
            if user.email:
                messages.append(
                    mail.EmailMessage(
                        subject=f"[wxadmin] {title}",
                        body=f"{body}\n\n{site}{link}",
                        to=[user.email],
                    )
                )
    Notification.objects.bulk_create(notifications, ignore_conflicts=True)
    if messages:
        # Inside the transaction: if the mail server refuses, the claim rolls back and
        # the next run retries (at-least-once for mail on a crash, once otherwise).
        with mail.get_connection() as connection_:
            connection_.send_messages(messages)
    return len(orders)


def notify_lapsed(orders: list[Order], *, now: datetime.datetime, failed_review: bool = False) -> int:
    """R-POST-04: tell the account's staff (in the admin) that its certification is gone.

    Either the annual review was missed (the certification lapsed) or it failed
    (`failed_review`). The message says that the badge and certification data are
    gone, that WeChat may change the account's name by force, and that the
    customer-service plug-in is off (R-KF-01). One notification per (user, order,
    milestone) — the unique constraint makes a repeated call harmless.
    """
    if not orders:
        return 0
    staff = recipients_for({o.account_id for o in orders})
    notifications = []
    for order in orders:
        for user in staff.get(order.account_id, []):
            with override(settings.LANGUAGE_CODE):
                title, body = _lapse_texts(order, failed_review=failed_review)
            notifications.append(
                Notification(
                    user=user,
                    order=order,
                    milestone=Milestone.LAPSED,
                    title=title,
                    body=body,
                    due_on=order.valid_until or timezone.localdate(now),
                    created_at=now,
                )
            )
    Notification.objects.bulk_create(notifications, ignore_conflicts=True)
    return len(notifications)


def lapse_consequences() -> str:
    """R-POST-04 / R-KF-01: what an account loses when its certification is gone."""
    return _(
        "The badge and the certification data are gone, the customer-service "
        "plug-in has been switched off, and WeChat may change the account's "
        "name by force. File an initial certification to get them back."
    )


def _lapse_texts(order: Order, *, failed_review: bool) -> tuple[str, str]:
    name = order.account_name
    consequences = lapse_consequences()
    if failed_review:
        return (
            _("Annual review failed: %(name)s") % {"name": name},
            _("The annual review of “%(name)s” failed.") % {"name": name} + " " + consequences,
        )
    return (
        _("Certification lapsed: %(name)s") % {"name": name},
        _("The annual review of “%(name)s” was missed: the certification expired on %(date)s.")
        % {"name": name, "date": order.valid_until}
        + " "
        + consequences,
    )
