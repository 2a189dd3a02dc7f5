"""Reads shared by the admin, the dashboard and the tasks."""

from __future__ import annotations

import datetime
from functools import lru_cache

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Case, F, Q, QuerySet, Sum, When
from django.db.models.functions import TruncMonth
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from accounts.selectors import scope_to_user
from core.dashboard_figures import Figure, figure_counts

from .models import (
    COMPLETED_STATUSES,
    InvoiceType,
    Notification,
    Order,
    OrderStatus,
)
from .transitions import Transition, offered

DUE_SOON_DAYS = 7
EXPIRING_DAYS = 90


def orders_visible_to(user) -> QuerySet[Order]:
    """Orders of the accounts the user may see (the one rule: `accounts.selectors`)."""
    return scope_to_user(Order.objects.all(), user, "account")


def user_sees_fees(user) -> bool:
    """Finance and Administrators see fees, payments and invoices; Operators do not."""
    return user.has_perm("certification.see_fees")


def allowed_transitions(order: Order, *, today: datetime.date | None = None) -> list[Transition]:
    """The transitions the order's current state allows (the buttons the admin shows),
    read from the one table in `certification.transitions`; e.g. a free modification is
    submitted without invoice or payment (R-POST-01), a late one is not resubmitted
    (R-CERT-12)."""
    return offered(order, today=today or timezone.localdate())


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


def _soon() -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=DUE_SOON_DAYS)


def _invoice_due() -> Q:
    today = timezone.localdate()
    return Q(
        status__in=COMPLETED_STATUSES,
        invoice_received_on__isnull=True,
        invoice_expected_by__lte=_soon(),
        invoice_type__in=[InvoiceType.VAT_ORDINARY, InvoiceType.VAT_SPECIAL],
    ) | Q(
        status__in=COMPLETED_STATUSES,
        invoice_type=InvoiceType.NONE,
        invoice_requested_at__isnull=True,
        invoice_request_deadline__gte=today,
        invoice_request_deadline__lte=_soon(),
    )


def _expiring() -> Q:
    """The account's current certification (R-CERT-16) ends within EXPIRING_DAYS."""
    today = timezone.localdate()
    return Q(
        status=OrderStatus.SUCCEEDED,
        valid_until__gte=today,
        valid_until__lte=today + datetime.timedelta(days=EXPIRING_DAYS),
        account__certified_until=F("valid_until"),
    )


#: What needs action: each a dashboard figure and, with ``?figure=<key>``, the order list's rows
#: (issue 29 §4: one condition for both).
AWAITING_PAYMENT = Figure(
    "awaiting_payment", _("Awaiting payment"), lambda: Q(status=OrderStatus.AWAITING_PAYMENT), "warning"
)
REVIEW_OVERDUE = Figure(
    "review_overdue",
    _("In review past the due date"),
    lambda: Q(status=OrderStatus.IN_REVIEW, review_due_on__lt=timezone.localdate()),
    "danger",
)
REJECTED = Figure("rejected", _("Rejected, to resubmit"), lambda: Q(status=OrderStatus.REJECTED))
RESUBMIT_SOON = Figure(
    "resubmit_soon",
    _("Rejected, resubmission due within 7 days"),
    lambda: Q(status=OrderStatus.REJECTED, resubmission_deadline__lte=_soon()),
    "warning",
)
INVOICES_DUE = Figure("invoices_due", _("Invoices due within 7 days"), _invoice_due, "warning")
EXPIRING = Figure("expiring", _("Certifications expiring within 90 days"), _expiring, "warning")
ORDER_FIGURES = (AWAITING_PAYMENT, REVIEW_OVERDUE, REJECTED, RESUBMIT_SOON, INVOICES_DUE, EXPIRING)


def action_needed_counts(user) -> dict[str, int]:
    """What needs action, for the dashboard: one aggregate query over the user's orders."""
    return figure_counts(orders_visible_to(user), ORDER_FIGURES)


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


def attention_orders(user, *, limit: int = 12) -> list[tuple[Order, datetime.date]]:
    """The dashboard's "attention today" orders: current certifications ending within 90 days,
    reviews past due and rejected orders to resubmit, the earliest deadline first, each with
    its deadline."""
    due = F("valid_until")
    orders = (
        orders_visible_to(user)
        .filter(EXPIRING.where() | REVIEW_OVERDUE.where() | REJECTED.where())
        .annotate(
            due=Case(
                When(status=OrderStatus.REJECTED, then=F("resubmission_deadline")),
                When(status=OrderStatus.IN_REVIEW, then=F("review_due_on")),
                default=due,
            )
        )
        .order_by(F("due").asc(nulls_last=True), "pk")
        .only("pk", "status", "account_name", "valid_until", "resubmission_deadline", "review_due_on")
    )
    return [(order, order.due) for order in orders[:limit] if order.due]


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


@lru_cache(maxsize=64)
def _document_labels(kind: str, subtype: str) -> dict:
    """Checklist item code → its label for one entity type and subtype.

    Issue 29: one code ("application_letter") has a label per subtype, so a label looked
    up over every subtype named the wrong letter; the order's own subtype decides.
    """
    from . import documents

    labels: dict = {}
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
                field = Order._meta.get_field(name)
                names.append(str(getattr(field, "verbose_name", name)))  # relations have none
            except FieldDoesNotExist:
                names.append(name)
        return "、".join(names) if translation.get_language().startswith("zh") else ", ".join(names)
    if event.action in ("document_received", "document_verified"):
        order = event.order
        label = _document_labels(order.entity_kind, order.entity_subtype).get(event.note)
        return str(label) if label else event.note
    return event.note
