"""Invoices after completion (R-CERT-10)."""

import datetime

import pytest

from certification.models import FailureReason, OrderStatus
from certification.services.errors import CertificationError
from certification.services.invoices import (
    invoice_record_issued,
    invoice_record_mailed,
    invoice_record_received,
    order_request_invoice,
)
from certification.services.review import order_fail, order_succeed
from certification.tests.factories import make_order

pytestmark = pytest.mark.django_db
SH = datetime.timezone(datetime.timedelta(hours=8))


def at(y, m, d, h=10):
    return datetime.datetime(y, m, d, h, 0, tzinfo=SH)


def completed_without_invoice(*, failed=False):
    order = make_order(until=OrderStatus.IN_REVIEW, invoice_type="none", now=at(2026, 5, 1))
    if failed:
        order_fail(order=order, by=None, reason=FailureReason.NOT_REGISTERED, now=at(2026, 5, 10))
    else:
        order_succeed(order=order, by=None, now=at(2026, 5, 10))
    order.refresh_from_db()
    return order


@pytest.mark.parametrize("failed", [False, True])
def test_missing_invoice_can_be_requested_until_30_days_after_completion_r_cert_10(failed):
    order = completed_without_invoice(failed=failed)
    assert order.invoice_request_deadline == datetime.date(2026, 6, 9)
    order_request_invoice(
        order=order,
        by=None,
        invoice_type="vat_ordinary",
        mailing_address="北京市海淀区",
        now=at(2026, 6, 9, 23),
    )
    order.refresh_from_db()
    assert order.invoice_type == "vat_ordinary"
    assert order.invoice_title == order.entity_snapshot["full_name"]


def test_missing_invoice_request_the_day_after_is_refused_r_cert_10():
    order = completed_without_invoice()
    with pytest.raises(CertificationError, match="30 days after completion"):
        order_request_invoice(
            order=order,
            by=None,
            invoice_type="vat_ordinary",
            mailing_address="北京市海淀区",
            now=at(2026, 6, 10, 0),
        )


def test_invoice_is_tracked_issued_mailed_received_in_order_r_cert_10():
    order = make_order(until=OrderStatus.IN_REVIEW, now=at(2026, 5, 1))
    order_succeed(order=order, by=None, now=at(2026, 5, 10))
    order.refresh_from_db()
    assert order.invoice_expected_by == datetime.date(2026, 7, 29)
    with pytest.raises(CertificationError, match="previous invoice step"):
        invoice_record_mailed(order=order, by=None, on=datetime.date(2026, 6, 1), tracking_number="SF123")
    invoice_record_issued(order=order, by=None, on=datetime.date(2026, 6, 1))
    invoice_record_mailed(order=order, by=None, on=datetime.date(2026, 6, 2), tracking_number="SF1234567890")
    invoice_record_received(order=order, by=None, on=datetime.date(2026, 6, 5))
    order.refresh_from_db()
    assert order.invoice_tracking_number == "SF1234567890"
    assert order.invoice_received_on == datetime.date(2026, 6, 5)


def test_no_invoice_tracking_before_completion_r_cert_10():
    order = make_order(until=OrderStatus.IN_REVIEW)
    with pytest.raises(CertificationError):
        invoice_record_issued(order=order, by=None, on=datetime.date(2026, 6, 1))
