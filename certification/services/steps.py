"""R-CERT-02 steps 1–4 before payment — the two agreements, the data, the invoice
choice — and withdrawing an order before it is paid (R-CERT-07)."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from certification.models import InvoiceType, Order, OrderStatus
from core.typing import Actor

from .application_data import order_data_problems, refresh_entity_data
from .checklist import _sync_checklist
from .common import _lock, _move, _now, _record, _require_transition
from .errors import CertificationError


def order_accept_service_agreement(*, order: Order, by: Actor, now: datetime.datetime | None = None) -> Order:
    """R-CERT-02 step 1: accept the Certification Service Agreement (who and when)."""
    now = _now(now)
    with transaction.atomic():
        order = _lock(order)
        _require_transition(order, "accept_service_agreement")
        if order.service_agreement_accepted_at:
            raise CertificationError(_("The service agreement is already accepted."))
        order.service_agreement_accepted_at = now
        order.service_agreement_accepted_by = by
        order.save(
            update_fields=["service_agreement_accepted_at", "service_agreement_accepted_by", "updated_at"]
        )
        _record(
            order,
            action="accept_service_agreement",
            by=by,
            from_status=order.status,
            to_status=order.status,
            at=now,
        )
    return order


def order_accept_naming_rules(*, order: Order, by: Actor, now: datetime.datetime | None = None) -> Order:
    """R-CERT-02 step 2: accept the Account Naming Rules, only after the service agreement."""
    now = _now(now)
    with transaction.atomic():
        order = _lock(order)
        _require_transition(order, "accept_naming_rules")
        if not order.service_agreement_accepted_at:
            raise CertificationError(
                _("Accept the Certification Service Agreement first."), code="step_skipped"
            )
        order.naming_rules_accepted_at = now
        order.naming_rules_accepted_by = by
        _move(
            order,
            to=OrderStatus.AGREEMENTS_ACCEPTED,
            action="accept_naming_rules",
            by=by,
            now=now,
            update_fields=["naming_rules_accepted_at", "naming_rules_accepted_by"],
        )
    return order


def order_complete_data(*, order: Order, by: Actor, now: datetime.datetime | None = None) -> Order:
    """R-CERT-02 step 3: the data (business, operator, basic data) is filled in.

    Refused with every problem listed (see `order_data_problems`).
    """
    now = _now(now)
    with transaction.atomic():
        order = _lock(order)
        _require_transition(order, "complete_data")
        # Issue 29: the entity corrected since the order was opened, and the values typed
        # into the checklist, are what the data step checks.
        refresh_entity_data(order)
        _sync_checklist(order)
        problems = order_data_problems(order)
        if problems:
            raise CertificationError(problems, code="data_incomplete")
        _move(
            order,
            to=OrderStatus.DATA_FILLED,
            action="complete_data",
            by=by,
            now=now,
            update_fields=["entity_snapshot", "naming_ok", "naming_reason"],
        )
    return order


def order_choose_invoice(
    *,
    order: Order,
    by: Actor,
    invoice_type: str,
    mailing_address: str = "",
    now: datetime.datetime | None = None,
) -> Order:
    """R-CERT-02 step 4 / R-CERT-10: choose the invoice; the title is the entity's full name.

    A VAT special invoice is flagged as needing Tencent customer service; a paper
    invoice needs the applicant's mailing address.
    """
    now = _now(now)
    if invoice_type not in InvoiceType.values:
        raise CertificationError({"invoice_type": _("Choose an invoice type.")})
    if invoice_type != InvoiceType.NONE and not mailing_address.strip():
        raise CertificationError(
            {"invoice_mailing_address": _("A mailing address is needed for the invoice.")}
        )
    with transaction.atomic():
        order = _lock(order)
        _require_transition(order, "choose_invoice")
        if order.fee <= 0:
            raise CertificationError(
                _("This order is free of charge: there is nothing to pay or invoice. Submit it for review."),
                code="free_order",
            )
        order.invoice_type = invoice_type
        order.invoice_title = order.entity_snapshot.get("full_name", "")
        order.invoice_mailing_address = mailing_address.strip()
        _move(
            order,
            to=OrderStatus.AWAITING_PAYMENT,
            action="choose_invoice",
            by=by,
            now=now,
            update_fields=["invoice_type", "invoice_title", "invoice_mailing_address"],
        )
    return order


def order_cancel(*, order: Order, by: Actor, note: str = "", now: datetime.datetime | None = None) -> Order:
    """Withdraw an order before it is paid (nothing was charged, R-CERT-07)."""
    now = _now(now)
    with transaction.atomic():
        order = _lock(order)
        _require_transition(order, "cancel")
        _move(order, to=OrderStatus.CANCELLED, action="cancel", by=by, now=now, note=note)
    return order
