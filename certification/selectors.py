"""Reads shared by the admin, the dashboard and the tasks."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from functools import lru_cache

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from accounts.selectors import scope_to_user

from .models import (
    COMPLETED_STATUSES,
    InvoiceType,
    Notification,
    Order,
    OrderStatus,
)

DUE_SOON_DAYS = 7
EXPIRING_DAYS = 90


def orders_visible_to(user) -> QuerySet[Order]:
    """Orders of the accounts the user may see (the one rule: `accounts.selectors`)."""
    return scope_to_user(Order.objects.all(), user, "account")


def user_sees_fees(user) -> bool:
    """Finance and Administrators see fees, payments and invoices; Operators do not."""
    return user.has_perm("certification.see_fees")


@dataclass(frozen=True)
class Transition:
    name: str
    label: str
    destructive: bool = False
    finance: bool = False  # needs the fees permission (payment, invoices)
    confirm: bool = False  # asks "are you sure?" on its own page before it runs


TRANSITIONS = {
    "accept_service_agreement": Transition(
        "accept_service_agreement", _("Accept the Certification Service Agreement")
    ),
    "accept_naming_rules": Transition("accept_naming_rules", _("Accept the Account Naming Rules")),
    "complete_data": Transition("complete_data", _("Data complete")),
    "choose_invoice": Transition("choose_invoice", _("Choose the invoice"), finance=True),
    "pay": Transition("pay", _("Record payment and submit for review"), finance=True),
    "submit": Transition("submit", _("Submit for review (free of charge)")),
    "reject": Transition("reject", _("Record a rejection")),
    "resubmit": Transition("resubmit", _("Resubmit")),
    # Certifies the account for a year and starts the invoice clock: confirm first.
    "succeed": Transition("succeed", _("Record success"), confirm=True),
    "fail": Transition("fail", _("Record failure"), destructive=True),
    "cancel": Transition("cancel", _("Cancel the order"), destructive=True),
    "record_deposit": Transition("record_deposit", _("Record the micro-deposit")),
    "request_invoice": Transition("request_invoice", _("Request the missing invoice"), finance=True),
    "invoice_issued": Transition("invoice_issued", _("Invoice issued"), finance=True),
    "invoice_mailed": Transition("invoice_mailed", _("Invoice mailed"), finance=True),
    "invoice_received": Transition("invoice_received", _("Invoice received"), finance=True),
}


def allowed_transitions(order: Order, *, today: datetime.date | None = None) -> list[Transition]:
    """The transitions the order's current state allows (the buttons the admin shows);
    a free modification is submitted without invoice or payment (R-POST-01)."""
    today = today or timezone.localdate()
    status = order.status
    names: list[str] = []
    if status == OrderStatus.DRAFT:
        names.append(
            "accept_naming_rules" if order.service_agreement_accepted_at else "accept_service_agreement"
        )
    elif status == OrderStatus.AGREEMENTS_ACCEPTED:
        names.append("complete_data")
    elif status == OrderStatus.DATA_FILLED:
        # R-POST-01: a free modification has nothing to invoice or pay.
        names.append("choose_invoice" if order.fee > 0 else "submit")
    elif status == OrderStatus.AWAITING_PAYMENT:
        names.append("pay")
    elif status == OrderStatus.IN_REVIEW:
        names += ["succeed", "reject", "fail", "record_deposit"]
    elif status == OrderStatus.REJECTED:
        if order.resubmission_deadline is None or today <= order.resubmission_deadline:
            names.append("resubmit")
        names += ["fail", "record_deposit"]
    elif status in COMPLETED_STATUSES and order.fee > 0:
        if (
            order.invoice_type == InvoiceType.NONE
            and not order.invoice_requested_at
            and order.invoice_request_deadline
            and today <= order.invoice_request_deadline
        ):
            names.append("request_invoice")
        elif order.invoice_type in (InvoiceType.VAT_ORDINARY, InvoiceType.VAT_SPECIAL):
            if not order.invoice_issued_on:
                names.append("invoice_issued")
            elif not order.invoice_mailed_on:
                names.append("invoice_mailed")
            elif not order.invoice_received_on:
                names.append("invoice_received")
    if status in (
        OrderStatus.DRAFT,
        OrderStatus.AGREEMENTS_ACCEPTED,
        OrderStatus.DATA_FILLED,
        OrderStatus.AWAITING_PAYMENT,
    ):
        names.append("cancel")
    return [TRANSITIONS[name] for name in names]


def deadline_tone(due: datetime.date | None, today: datetime.date | None = None) -> str:
    """Colour code of a deadline: overdue (red), due soon (amber), later (green)."""
    if due is None:
        return ""
    left = (due - (today or timezone.localdate())).days
    if left < 0:
        return "danger"
    if left <= DUE_SOON_DAYS:
        return "warning"
    return "success"


def action_needed_counts(user, *, today: datetime.date | None = None) -> dict[str, int]:
    """What needs action, for the dashboard: one aggregate query over the user's orders."""
    today = today or timezone.localdate()
    soon = today + datetime.timedelta(days=DUE_SOON_DAYS)
    expiring = today + datetime.timedelta(days=EXPIRING_DAYS)
    return orders_visible_to(user).aggregate(
        awaiting_payment=Count("pk", filter=Q(status=OrderStatus.AWAITING_PAYMENT)),
        review_overdue=Count("pk", filter=Q(status=OrderStatus.IN_REVIEW, review_due_on__lt=today)),
        rejected=Count("pk", filter=Q(status=OrderStatus.REJECTED)),
        resubmit_soon=Count("pk", filter=Q(status=OrderStatus.REJECTED, resubmission_deadline__lte=soon)),
        invoices_due=Count(
            "pk",
            filter=Q(
                status__in=COMPLETED_STATUSES,
                invoice_received_on__isnull=True,
                invoice_expected_by__lte=soon,
                invoice_type__in=[InvoiceType.VAT_ORDINARY, InvoiceType.VAT_SPECIAL],
            )
            | Q(
                status__in=COMPLETED_STATUSES,
                invoice_type=InvoiceType.NONE,
                invoice_requested_at__isnull=True,
                invoice_request_deadline__gte=today,
                invoice_request_deadline__lte=soon,
            ),
        ),
        expiring=Count(
            "pk",
            filter=Q(
                status=OrderStatus.SUCCEEDED,
                valid_until__gte=today,
                valid_until__lte=expiring,
                account__certified_until=F("valid_until"),
            ),
        ),
    )


def fees_paid_per_month(
    user, *, months: int = 12, today: datetime.date | None = None
) -> list[tuple[str, float]]:
    """Fees paid per month over the last `months` months (labels YYYY-MM), for the chart."""
    today = today or timezone.localdate()
    start = today.replace(day=1)
    for _i in range(months - 1):
        start = (start - datetime.timedelta(days=1)).replace(day=1)
    rows = (
        orders_visible_to(user)
        .filter(paid_at__date__gte=start)
        .annotate(month=TruncMonth("paid_at"))
        .values("month")
        .annotate(total=Sum("fee"))
        .order_by("month")
    )
    totals = {row["month"].strftime("%Y-%m"): float(row["total"]) for row in rows}
    labels, cursor = [], start
    while cursor <= today:
        labels.append(cursor.strftime("%Y-%m"))
        cursor = (cursor + datetime.timedelta(days=32)).replace(day=1)
    return [(label, totals.get(label, 0.0)) for label in labels]


def rejected_with_days_left(
    user, *, limit: int = 5, today: datetime.date | None = None
) -> list[tuple[Order, int]]:
    """R-CERT-12: rejected orders by resubmission deadline, with the days left."""
    today = today or timezone.localdate()
    orders = (
        orders_visible_to(user)
        .filter(status=OrderStatus.REJECTED)
        .order_by("resubmission_deadline", "pk")
        .only("pk", "account_name", "resubmission_deadline")[:limit]
    )
    return [
        (order, (order.resubmission_deadline - today).days) for order in orders if order.resubmission_deadline
    ]


def unread_notifications(user) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user, read_at__isnull=True)


@lru_cache(maxsize=1)
def _document_labels() -> dict:
    """Checklist item code → its label, over every entity type and subtype."""
    from accounts.models import SUBTYPES_BY_KIND

    from . import documents

    labels: dict = {}
    for kind, subtypes in SUBTYPES_BY_KIND.items():
        for subtype in subtypes:
            for item in documents.checklist(
                kind=kind,
                subtype=subtype,
                trademark_name="x",
                trademark_owned_by_entity=False,
                tm_registrant_is_person=True,
            ):
                labels.setdefault(item.code, item.label)
    return labels


def event_details(event) -> str:
    """The "why / details" of a history row in words: field names and checklist items by
    their labels, never their internal codes."""
    if event.action == "edit" and event.note:
        names = []
        for name in event.note.split(", "):
            try:
                names.append(str(Order._meta.get_field(name).verbose_name))
            except FieldDoesNotExist:
                names.append(name)
        return "、".join(names) if translation.get_language().startswith("zh") else ", ".join(names)
    if event.action in ("document_received", "document_verified"):
        label = _document_labels().get(event.note)
        return str(label) if label else event.note
    return event.note
