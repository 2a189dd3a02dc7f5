"""Issue 29: one rule decides which deadlines of an order are live (R-CERT-10/11/12)."""

import datetime
import itertools

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from certification.models import LIVE_DEADLINE_RULES, Order, OrderStatus, live_deadline_q
from certification.tests.factories import make_account, make_order

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 12, 28)


def test_the_queryset_rule_and_the_row_rule_agree_on_every_state_r_cert_10():
    """R-CERT-10/11/12: for every status × invoice state, `live_deadline_q` selects exactly
    the orders whose `deadline_is_live` says so."""
    user = UserFactory()
    order = make_order(by=user)
    states = itertools.product(
        OrderStatus.values, ["", "none", "vat_ordinary"], [None, timezone.now()], [None, DAY]
    )
    for status, invoice_type, requested_at, received_on in states:
        Order.objects.filter(pk=order.pk).update(
            status=status,
            invoice_type=invoice_type,
            invoice_requested_at=requested_at,
            invoice_received_on=received_on,
            **dict.fromkeys(LIVE_DEADLINE_RULES, DAY),
        )
        order.refresh_from_db()
        for field in LIVE_DEADLINE_RULES:
            in_query = Order.objects.filter(live_deadline_q(field), pk=order.pk).exists()
            assert in_query == order.deadline_is_live(field), (status, invoice_type, field)


def test_a_succeeded_order_shows_no_review_or_resubmission_deadline_on_the_hub_r_cert_11(admin_client):
    """R-CERT-11/12: the hub shows what the order list shows — a finished order's stale
    review and resubmission dates are not deadlines any more."""
    order = make_order(by=UserFactory(), account=make_account())
    Order.objects.filter(pk=order.pk).update(
        status=OrderStatus.SUCCEEDED,
        review_due_on=DAY,
        resubmission_deadline=DAY,
        valid_until=DAY,
        invoice_type="vat_ordinary",
        invoice_received_on=DAY,
    )
    page = admin_client.get(
        reverse("admin:accounts_officialaccount_hub", args=[order.account_id]), HTTP_ACCEPT_LANGUAGE="en"
    )
    text = page.content.decode()
    assert "Review due" not in text and "审核截止" not in text
    assert "Resubmit by" not in text and "重新提交截止" not in text
    assert order.account.name in text
