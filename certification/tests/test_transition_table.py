"""R-CERT-02: the one transition table (`certification.transitions`) against every place
that reads it. For every order status × every transition — both taken from the enums and
the table, so a new status or transition is covered (and must be given an order or sample
data below) — the table, `selectors.allowed_transitions`, the service's status guard and
the admin (buttons offered, POST refused) agree."""

import datetime
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from certification.admin.transition_forms import TRANSITIONS, allowed_transitions
from certification.models import FailureReason, Order, OrderEvent, OrderStatus
from certification.services.errors import CertificationError
from certification.services.invoices import invoice_record_issued, invoice_record_mailed
from certification.services.review import order_fail, order_reject, order_succeed
from certification.services.steps import order_accept_service_agreement, order_cancel
from certification.tests.factories import make_order, transaction_id

pytestmark = pytest.mark.django_db
PASSWORD = "pw-for-tests-123"


def _rejected(by, **kwargs):
    order = make_order(by=by, until=OrderStatus.IN_REVIEW, **kwargs)
    return order_reject(order=order, by=by, note="照片模糊")


def _rejected_too_late(by):
    """R-CERT-12: rejected 40 days ago, the 30-day window closed (the sweep not yet run)."""
    long_ago = timezone.now() - datetime.timedelta(days=60)
    order = make_order(by=by, until=OrderStatus.IN_REVIEW, now=long_ago)
    return order_reject(order=order, by=by, note="x", now=long_ago + datetime.timedelta(days=20))


def _succeeded(by, **kwargs):
    return order_succeed(order=make_order(by=by, until=OrderStatus.IN_REVIEW, **kwargs), by=by)


def _invoice_issued(by):
    order = _succeeded(by)
    return invoice_record_issued(order=order, by=by, on=timezone.localdate())


def _invoice_mailed(by):
    order = _invoice_issued(by)
    return invoice_record_mailed(order=order, by=by, on=timezone.localdate(), tracking_number="SF1")


def _failed(by):
    order = make_order(by=by, until=OrderStatus.IN_REVIEW)
    return order_fail(order=order, by=by, reason=FailureReason.NOT_REGISTERED)


def _free_modification(by):
    """R-POST-01: the first modification within the certification period costs nothing."""
    certified = _succeeded(by)
    return make_order(account=certified.account, kind="modification", by=by, until=OrderStatus.DATA_FILLED)


# One order in every status (more where a condition of the table picks between
# transitions); the keys of the first ones are exactly the statuses.
ORDERS = {
    OrderStatus.DRAFT: lambda by: make_order(by=by, until=OrderStatus.DRAFT),
    OrderStatus.AGREEMENTS_ACCEPTED: lambda by: make_order(by=by, until=OrderStatus.AGREEMENTS_ACCEPTED),
    OrderStatus.DATA_FILLED: lambda by: make_order(by=by, until=OrderStatus.DATA_FILLED),
    OrderStatus.AWAITING_PAYMENT: lambda by: make_order(by=by, until=OrderStatus.AWAITING_PAYMENT),
    OrderStatus.IN_REVIEW: lambda by: make_order(by=by, until=OrderStatus.IN_REVIEW),
    OrderStatus.REJECTED: _rejected,
    OrderStatus.SUCCEEDED: _succeeded,
    OrderStatus.FAILED: _failed,
    OrderStatus.CANCELLED: lambda by: order_cancel(order=make_order(by=by), by=by),
}
VARIANTS = {
    "draft_agreement_accepted": lambda by: order_accept_service_agreement(order=make_order(by=by), by=by),
    "data_filled_free": _free_modification,
    "rejected_too_late": _rejected_too_late,
    "succeeded_without_invoice": lambda by: _succeeded(by, invoice_type="none"),
    "succeeded_invoice_issued": _invoice_issued,
    "succeeded_invoice_mailed": _invoice_mailed,
}
CASES = [pytest.param(build, id=str(status)) for status, build in ORDERS.items()] + [
    pytest.param(build, id=name) for name, build in VARIANTS.items()
]

# Data each transition's form would give its service: every field of its form.
SAMPLE_DATA = {
    "accept_service_agreement": dict,
    "accept_naming_rules": dict,
    "complete_data": dict,
    "choose_invoice": lambda: {"invoice_type": "vat_ordinary", "mailing_address": "深圳市南山区科技园 1 号"},
    "submit": lambda: {"review_company": None},
    "pay": lambda: {
        "transaction_id": transaction_id(),
        "paid_at": timezone.now() - datetime.timedelta(minutes=1),
        "review_company": None,
    },
    "resubmit": lambda: {"note": ""},
    "succeed": lambda: {"note": ""},
    "reject": lambda: {"note": "补充材料"},
    "fail": lambda: {"reason": FailureReason.OPERATOR_ID_WRONG, "note": ""},
    "record_deposit": lambda: {
        "amount": Decimal("0.37"),
        "remark": "WX1234",
        "received_on": timezone.localdate(),
        "receipt": None,
    },
    "request_invoice": lambda: {"invoice_type": "vat_ordinary", "mailing_address": "深圳市南山区科技园 1 号"},
    "invoice_issued": lambda: {"on": timezone.localdate()},
    "invoice_mailed": lambda: {"on": timezone.localdate(), "tracking_number": "SF1234567890"},
    "invoice_received": lambda: {"on": timezone.localdate()},
    "cancel": lambda: {"note": ""},
}


class _RollBack(Exception):
    """Undo a service call that went through: each transition is tried on the same order."""


def call_service(transition, order: Order, by) -> tuple[str | None, str, str]:
    """Run the transition's service on the order, then undo it.

    Returns the refusal's code (None when it went through), its message and the status
    the order had after the call."""
    try:
        with transaction.atomic():
            done = transition.run(order=order, by=by, data=SAMPLE_DATA[transition.name]())
            done.refresh_from_db()
            after = done.status
            raise _RollBack
    except _RollBack:
        return None, "", after
    except CertificationError as exc:
        return getattr(exc, "code", None) or "refused", " ".join(exc.messages), order.status


def test_every_transition_has_sample_data_and_every_status_an_order():
    assert set(SAMPLE_DATA) == set(TRANSITIONS)
    assert set(ORDERS) == set(OrderStatus)


@pytest.mark.parametrize("name", list(TRANSITIONS))
def test_every_row_of_the_table_is_complete(name):
    """Sources are statuses, the target one too (or a word), a confirmation or an
    irreversible step has its own page, and the form gives the service what it takes."""
    transition = TRANSITIONS[name]
    assert transition.name == name and transition.sources <= set(OrderStatus)
    assert transition.target in (*OrderStatus, "unchanged", "depends")
    if transition.destructive or transition.confirm:
        assert not transition.inline and transition.form is not None
    assert set(transition.args) <= set(transition.page_form.base_fields)


@pytest.mark.parametrize("build", CASES)
def test_table_selectors_services_and_admin_agree_for_every_status_and_transition_r_cert_02(client, build):
    finance = UserFactory(groups=["Finance"])
    order = build(finance)
    order.refresh_from_db()
    status = order.status
    today = timezone.localdate()

    # The table and the selector (the buttons' source).
    expected = [t.name for t in TRANSITIONS.values() if status in t.sources and t.when(order, today)]
    assert [t.name for t in allowed_transitions(order, today=today)] == expected

    # The admin offers exactly those as buttons.
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert client.login(request=HttpRequest(), username=finance.username, password=PASSWORD)
    page = client.get(reverse("admin:certification_order_change", args=[order.pk]))
    assert page.status_code == 200
    assert [item["t"].name for item in page.context["transitions"]] == expected

    for name, transition in TRANSITIONS.items():
        code, message, after = call_service(transition, order, finance)
        if name not in expected:
            # The admin neither offers it nor runs it when posted.
            events = OrderEvent.objects.filter(order=order).count()
            url = reverse("admin:certification_order_transition", args=[order.pk, name])
            response = client.post(url, {"note": "x"})
            assert response.status_code == 302, name
            said = [str(m) for m in get_messages(response.wsgi_request)]  # earlier ones too
            assert said[-1] == f"“{transition.label}” is not possible in this state.", name
            order.refresh_from_db()
            assert order.status == status and OrderEvent.objects.filter(order=order).count() == events
        if status not in transition.sources:
            # The service's guard refuses it with the existing message.
            assert code == "wrong_status", (status, name, code, message)
            assert message == (
                f"Order #{order.pk} is “{order.get_status_display()}”; "
                f"it cannot be {transition.refused_as} now."
            )
        else:
            # Allowed from this status: only the service's own business checks may refuse.
            assert code != "wrong_status", (status, name, message)
            if code is None and transition.target not in ("depends", "unchanged"):
                assert after == transition.target, (status, name)
            if code is None and transition.target == "unchanged":
                assert after == status, (status, name)


@pytest.mark.parametrize("name", [name for name, t in TRANSITIONS.items() if t.permission])
def test_transitions_needing_a_permission_are_neither_offered_nor_run_without_it(client, name):
    """Who may: a staff member who may change the account's orders but not see fees gets
    no payment or invoice button, and posting one is forbidden."""
    transition = TRANSITIONS[name]
    user = UserFactory(is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="certification", codename__in=["view_order", "change_order"]
        )
    )
    assert not user.has_perm(transition.permission)
    for build in list(ORDERS.values()) + list(VARIANTS.values()):
        order = build(UserFactory(groups=["Finance"]))
        order.refresh_from_db()
        if transition in allowed_transitions(order):
            break
    else:
        pytest.fail(f"no order offers {name}")
    order.account.assigned_staff.add(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert client.login(request=HttpRequest(), username=user.username, password=PASSWORD)
    page = client.get(reverse("admin:certification_order_change", args=[order.pk]))
    assert page.status_code == 200
    assert name not in [item["t"].name for item in page.context["transitions"]]
    url = reverse("admin:certification_order_transition", args=[order.pk, name])
    data = {key: value for key, value in SAMPLE_DATA[name]().items() if value is not None}
    assert client.post(url, data).status_code == 403
    order.refresh_from_db()
    assert transition in allowed_transitions(order)  # nothing ran
