"""The reviewer's outcomes: rejection (R-CERT-12), success (R-POST-02), failure
(R-CERT-12, R-POST-04), and the micro-deposit (R-CERT-03); completion starts the
invoice deadlines (R-CERT-10)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.core.files import File
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import OfficialAccount
from certification import deadlines, documents
from certification.models import FailureReason, Order, OrderKind, OrderStatus
from certification.reminders import notify_lapsed
from core.typing import Actor

from .account_certification import accounts_decertify
from .common import _lock, _move, _now, _record, _require_transition, _today
from .errors import CertificationError

MAX_RESUBMISSIONS = 3


def order_reject(*, order: Order, by: Actor, note: str, now: datetime.datetime | None = None) -> Order:
    """The reviewer found the data non-compliant.

    R-CERT-12: the first rejection starts a 30-calendar-day resubmission window, and so
    does every later one, counted from that rejection (Clarifications); a rejection
    after the third resubmission fails the order ("resubmitted three times").
    """
    now = _now(now)
    if not note.strip():
        raise CertificationError({"note": _("Say what the reviewer rejected.")})
    with transaction.atomic():
        order = _lock(order)
        _require_transition(order, "reject")
        order.rejection_count += 1
        order.last_rejection_note = note
        fields = ["rejection_count", "last_rejection_note"]
        if order.resubmission_count >= MAX_RESUBMISSIONS:
            order.save(update_fields=fields)
            reason = FailureReason.RESUBMITTED_THREE_TIMES
            _fail(order, by=by, reason=reason, note=_failure_note(reason, note), now=now)
            return order
        if order.first_rejected_at is None:
            order.first_rejected_at = now
            fields.append("first_rejected_at")
        # Every rejection opens its own 30-day window (Clarifications, R-CERT-12).
        order.resubmission_deadline = deadlines.resubmission_deadline(_today(now))
        fields.append("resubmission_deadline")
        _move(
            order, to=OrderStatus.REJECTED, action="reject", by=by, now=now, note=note, update_fields=fields
        )
    return order


def _complete(order: Order, now: datetime.datetime) -> list[str]:
    """R-CERT-10: completion (success or failure) starts the invoice deadlines."""
    completed_on = _today(now)
    order.completed_at = now
    fields = ["completed_at"]
    if order.fee > 0:
        order.invoice_request_deadline = deadlines.invoice_request_deadline(completed_on)
        order.invoice_expected_by = deadlines.invoice_expected_by(completed_on)
        fields += ["invoice_request_deadline", "invoice_expected_by"]
    return fields


def order_succeed(
    *,
    order: Order,
    by: Actor,
    now: datetime.datetime | None = None,
    valid_until: datetime.date | None = None,
    action: str = "succeed",
    note: str = "",
) -> Order:
    """The review passed.

    R-POST-02: an initial certification or annual review is valid for one year from
    today; the account's `certified_until` moves there (R-CERT-16 badge) and the
    annual-review reminder date (3 months before) is known now. R-CERT-10: invoice
    deadlines start. A modification leaves the validity as it is. `valid_until`
    overrides our date when WeChat sent its own (`certification.wechat_events`).
    """
    now = _now(now)
    with transaction.atomic():
        order = _lock(order)
        _require_transition(order, "succeed")
        fields = _complete(order, now)
        if order.kind in (OrderKind.INITIAL, OrderKind.ANNUAL_REVIEW):
            order.valid_until = valid_until or deadlines.certification_valid_until(_today(now))
            order.annual_review_remind_on = deadlines.annual_review_reminder_on(order.valid_until)
            fields += ["valid_until", "annual_review_remind_on"]
            OfficialAccount.objects.filter(pk=order.account_id).update(
                certified_until=order.valid_until, updated_at=now
            )
        certified = _("Certified until %(date)s") % {"date": order.valid_until} if order.valid_until else ""
        _move(
            order,
            to=OrderStatus.SUCCEEDED,
            action=action,
            by=by,
            now=now,
            note=" ".join(part for part in (certified, note) if part),
            update_fields=fields,
        )
    return order


def _failure_note(reason: str, note: str) -> str:
    """The history note of a failure recorded by staff or WeChat: the reason, then why."""
    return f"{FailureReason(reason).label}. {note}".strip()


def _fail(
    order: Order, *, by: Actor, reason: str, note: str, now: datetime.datetime, action: str = "fail"
) -> None:
    """Fail a locked order: R-CERT-10 invoice deadlines start, `note` is the history's
    note; R-POST-04: a failed annual review loses the certification."""
    fields = _complete(order, now)
    order.failure_reason = reason
    fields.append("failure_reason")
    _move(
        order,
        to=OrderStatus.FAILED,
        action=action,
        by=by,
        now=now,
        note=note,
        update_fields=fields,
    )
    if order.kind == OrderKind.ANNUAL_REVIEW:
        # R-POST-04: a failed annual review loses the badge and certification data.
        accounts_decertify(account_ids=[order.account_id], now=now)
        notify_lapsed([order], now=now, failed_review=True)


def order_fail(
    *,
    order: Order,
    by: Actor,
    reason: str,
    note: str = "",
    now: datetime.datetime | None = None,
    action: str = "fail",
) -> Order:
    """The review failed for one of the six reasons of R-CERT-12.

    R-POST-04: a failed annual review clears the account's certification.
    """
    now = _now(now)
    if reason not in FailureReason.values:
        raise CertificationError({"reason": _("Choose one of the six failure reasons.")})
    with transaction.atomic():
        order = _lock(order)
        _require_transition(order, "fail")
        _fail(order, by=by, reason=reason, note=_failure_note(reason, note), now=now, action=action)
    return order


def order_record_deposit(
    *,
    order: Order,
    by: Actor,
    amount: Decimal,
    remark: str,
    received_on: datetime.date,
    receipt: File[Any] | None = None,
    now: datetime.datetime | None = None,
) -> Order:
    """R-CERT-03: the reviewer's micro-deposit (amount, remark, date) and its receipt."""
    now = _now(now)
    if amount is None or amount <= 0:
        raise CertificationError({"amount": _("Enter the amount received.")})
    if received_on > _today(now):
        raise CertificationError({"received_on": _("The date received is in the future.")})
    if receipt is not None:
        documents.validate_upload(receipt, code="deposit_receipt")
    with transaction.atomic():
        order = _lock(order)
        _require_transition(order, "record_deposit")
        order.deposit_amount = amount
        order.deposit_remark = remark
        order.deposit_received_on = received_on
        if receipt is not None:
            order.deposit_receipt = receipt
            order.deposit_receipt_uploaded_at = now
        order.save()
        _record(
            order,
            action="record_deposit",
            by=by,
            from_status=order.status,
            to_status=order.status,
            at=now,
            note=remark,
        )
    return order
