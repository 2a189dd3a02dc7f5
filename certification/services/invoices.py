"""R-CERT-10: invoices after completion — the late request and Tencent's issue, mailing
and receipt."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from certification.models import InvoiceType, Order
from core.typing import Actor

from .common import _lock, _now, _record, _require_transition, _today
from .errors import CertificationError


def order_request_invoice(
    *, order: Order, by: Actor, invoice_type: str, mailing_address: str, now: datetime.datetime | None = None
) -> Order:
    """R-CERT-10: no invoice chosen? It can be requested within 30 days after completion."""
    now = _now(now)
    if invoice_type not in (InvoiceType.VAT_ORDINARY, InvoiceType.VAT_SPECIAL):
        raise CertificationError({"invoice_type": _("Choose an invoice type.")})
    if not mailing_address.strip():
        raise CertificationError(
            {"invoice_mailing_address": _("A mailing address is needed for the invoice.")}
        )
    with transaction.atomic():
        order = _lock(order)
        _require_transition(order, "request_invoice")
        if order.invoice_type != InvoiceType.NONE or order.invoice_requested_at:
            raise CertificationError(_("An invoice was already chosen for this order."))
        if order.fee <= 0:
            raise CertificationError(_("Nothing was paid: there is no invoice to request."))
        # Set by `_complete` for every paid order.
        assert order.invoice_request_deadline is not None
        if _today(now) > order.invoice_request_deadline:
            raise CertificationError(
                _("A missing invoice could be requested until %(date)s (30 days after completion).")
                % {"date": order.invoice_request_deadline},
                code="invoice_request_late",
            )
        order.invoice_type = invoice_type
        order.invoice_title = order.entity_snapshot.get("full_name", "")
        order.invoice_mailing_address = mailing_address.strip()
        order.invoice_requested_at = now
        order.save(
            update_fields=[
                "invoice_type",
                "invoice_title",
                "invoice_mailing_address",
                "invoice_requested_at",
                "updated_at",
            ]
        )
        _record(order, action="request_invoice", by=by, at=now)
    return order


def _invoice_step(
    order: Order,
    *,
    by: Actor,
    action: str,
    now: datetime.datetime,
    requires: str | None,
    set_fields: dict[str, Any],
) -> Order:
    with transaction.atomic():
        order = _lock(order)
        _require_transition(order, action)
        if order.invoice_type in ("", InvoiceType.NONE):
            raise CertificationError(_("No invoice was chosen or requested for this order."))
        if requires and getattr(order, requires) is None:
            raise CertificationError(_("Record the previous invoice step first."))
        for field, value in set_fields.items():
            setattr(order, field, value)
        order.save(update_fields=[*set_fields, "updated_at"])
        _record(order, action=action, by=by, at=now)
    return order


def invoice_record_issued(
    *, order: Order, by: Actor, on: datetime.date, now: datetime.datetime | None = None
) -> Order:
    """R-CERT-10: Tencent issued the invoice."""
    return _invoice_step(
        order,
        by=by,
        action="invoice_issued",
        now=_now(now),
        requires=None,
        set_fields={"invoice_issued_on": on},
    )


def invoice_record_mailed(
    *, order: Order, by: Actor, on: datetime.date, tracking_number: str, now: datetime.datetime | None = None
) -> Order:
    """R-CERT-10: the invoice was mailed, with its tracking number."""
    if not tracking_number.strip():
        raise CertificationError({"tracking_number": _("Enter the tracking number.")})
    return _invoice_step(
        order,
        by=by,
        action="invoice_mailed",
        now=_now(now),
        requires="invoice_issued_on",
        set_fields={"invoice_mailed_on": on, "invoice_tracking_number": tracking_number.strip()},
    )


def invoice_record_received(
    *, order: Order, by: Actor, on: datetime.date, now: datetime.datetime | None = None
) -> Order:
    """R-CERT-10: the applicant received the invoice."""
    return _invoice_step(
        order,
        by=by,
        action="invoice_received",
        now=_now(now),
        requires="invoice_mailed_on",
        set_fields={"invoice_received_on": on},
    )
