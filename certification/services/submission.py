"""Sending an order to the reviewer: the free submission (R-POST-01), the WeChat Pay
payment (R-CERT-02 steps 5–6, R-CERT-07) and the resubmission (R-CERT-12); each
starts R-CERT-11's review clock."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable

from django.db import transaction
from django.utils.translation import gettext as _

from certification import deadlines
from certification.models import InvoiceType, Order, OrderStatus, ReviewCompany
from core.typing import Actor

from .checklist import order_missing_documents
from .common import _check_none_with_reviewer, _lock, _move, _now, _require_transition, _today
from .errors import CertificationError


def order_submit_free(
    *,
    order: Order,
    by: Actor,
    review_company: ReviewCompany | None = None,
    now: datetime.datetime | None = None,
) -> Order:
    """R-POST-01 / R-CERT-02: a free modification (0 CNY) skips the invoice and payment
    steps — there is nothing to pay or invoice — and goes from "data filled in" straight
    into review. R-CERT-11: the review due date is set.
    """
    now = _now(now)
    with transaction.atomic():
        order = _lock(order)
        _require_transition(order, "submit")
        if order.fee > 0:
            raise CertificationError(
                _("This order costs %(fee)s CNY: choose the invoice and record the payment.")
                % {"fee": order.fee},
                code="not_free",
            )
        order.invoice_type = InvoiceType.NONE
        _send_to_review(
            order, action="submit", by=by, now=now, review_company=review_company, changed=["invoice_type"]
        )
    return order


def _submit(order: Order, now: datetime.datetime) -> None:
    """R-CERT-11: a complete submission starts the 15-working-day review clock.

    Only one application of an account is with the reviewer at a time.
    """
    _check_none_with_reviewer(Order.objects.filter(account_id=order.account_id).open().exclude(pk=order.pk))
    missing = order_missing_documents(order)
    if missing:
        raise CertificationError(
            {
                "documents": _("Cannot submit for review; required documents missing: %(items)s.")
                % {"items": "; ".join(_(doc.label) for doc in missing)}
            },
            code="documents_missing",
        )
    due = deadlines.review_due(_today(now))
    order.submitted_at = now
    order.review_due_on = due.date
    order.review_due_is_estimate = due.estimate


def _send_to_review(
    order: Order,
    *,
    action: str,
    by: Actor,
    now: datetime.datetime,
    review_company: ReviewCompany | None = None,
    note: str = "",
    changed: Iterable[str] = (),
) -> None:
    """Submit (R-CERT-11's clock) and move the order to the reviewer, saving `changed` too:
    the free submission, the payment and the resubmission all end this way."""
    fields = [*changed, "submitted_at", "review_due_on", "review_due_is_estimate"]
    if review_company is not None:
        order.review_company = review_company
        fields.append("review_company")
    _submit(order, now)
    _move(order, to=OrderStatus.IN_REVIEW, action=action, by=by, now=now, note=note, update_fields=fields)


def order_pay(
    *,
    order: Order,
    by: Actor,
    transaction_id: str = "",
    paid_at: datetime.datetime | None = None,
    review_company: ReviewCompany | None = None,
    now: datetime.datetime | None = None,
) -> Order:
    """R-CERT-02 steps 5–6: pay the fee by WeChat Pay (R-CERT-07); the order enters review.

    A paid order needs the WeChat Pay transaction id and time; a free modification
    (R-POST-01) goes straight to review. R-CERT-11: the review due date is set.
    """
    now = _now(now)
    with transaction.atomic():
        order = _lock(order)
        _require_transition(order, "pay")
        if order.fee > 0:
            transaction_id = transaction_id.strip()
            if not transaction_id:
                raise CertificationError(
                    {
                        "transaction_id": _(
                            "Enter the WeChat Pay transaction ID: the fee is paid by WeChat Pay only."
                        )
                    }
                )
            validate_wechat_pay_transaction_id(transaction_id, order=order)
            if paid_at is None:
                raise CertificationError({"paid_at": _("Enter when the fee was paid.")})
            if paid_at > now:
                raise CertificationError({"paid_at": _("The payment time is in the future.")})
            order.wechat_pay_transaction_id = transaction_id.strip()
            order.paid_at = paid_at
        # The transaction id stays on the order (fees permission), not in the history.
        _send_to_review(
            order,
            action="pay",
            by=by,
            now=now,
            review_company=review_company,
            changed=["wechat_pay_transaction_id", "paid_at"],
        )
    return order


WECHAT_PAY_TRANSACTION_ID = re.compile(r"\d{28,32}")


def validate_wechat_pay_transaction_id(value: str, *, order: Order | None = None) -> None:
    """R-CERT-07: the WeChat Pay order number (微信支付订单号) — digits only, 28 in every
    receipt (up to 32 allowed by WeChat Pay's API) — and not already used by another
    order: one payment pays one application."""
    if not WECHAT_PAY_TRANSACTION_ID.fullmatch(value):
        raise CertificationError(
            {
                "transaction_id": _(
                    "“%(value)s” is not a WeChat Pay transaction ID: it is the 28-digit number on "
                    "the WeChat Pay receipt (微信支付订单号), for example 4200001234202611290123456789."
                )
                % {"value": value[:40]}
            },
            code="bad_transaction_id",
        )
    used = Order.objects.filter(wechat_pay_transaction_id=value)
    if order is not None:
        used = used.exclude(pk=order.pk)
    other = used.values_list("pk", flat=True).first()
    if other is not None:
        raise CertificationError(
            {
                "transaction_id": _("This WeChat Pay transaction ID already paid order #%(id)s.")
                % {"id": other}
            },
            code="transaction_id_used",
        )


def order_resubmit(*, order: Order, by: Actor, note: str = "", now: datetime.datetime | None = None) -> Order:
    """Resubmit corrected data; R-CERT-12: only within 30 days of the rejection.

    R-CERT-11: the review clock restarts.
    """
    now = _now(now)
    with transaction.atomic():
        order = _lock(order)
        _require_transition(order, "resubmit")
        if order.resubmission_deadline and _today(now) > order.resubmission_deadline:
            raise CertificationError(
                _("The resubmission deadline (%(date)s) has passed; the order fails for timeout.")
                % {"date": order.resubmission_deadline},
                code="resubmission_late",
            )
        order.resubmission_count += 1
        _send_to_review(order, action="resubmit", by=by, now=now, note=note, changed=["resubmission_count"])
    return order
