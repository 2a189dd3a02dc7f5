"""Reminders: exactly once per (order, milestone), email + notification (R-POST-02,
R-CERT-10, R-CERT-12)."""

import datetime
import threading

import pytest
from django.core import mail
from django.db import connection

from accounts.tests.factories import UserFactory
from certification import reminders
from certification.models import FailureReason, Notification, OrderStatus, Reminder
from certification.services.creation import order_create
from certification.services.invoices import (
    invoice_record_issued,
    invoice_record_mailed,
    invoice_record_received,
)
from certification.services.review import order_fail, order_reject, order_succeed
from certification.services.submission import order_resubmit
from certification.tests.factories import make_account, make_order

SH = datetime.timezone(datetime.timedelta(hours=8))


def at(y, m, d, h=9):
    return datetime.datetime(y, m, d, h, 0, tzinfo=SH)


@pytest.fixture
def staff():
    return [UserFactory(groups=["Operators"]), UserFactory(groups=["Finance"])]


def certified_order(staff, *, on=at(2026, 3, 15)):
    account = make_account(staff=staff)
    order = make_order(
        account=account,
        by=staff[1] if staff else None,
        until=OrderStatus.IN_REVIEW,
        now=on - datetime.timedelta(days=10),
    )
    order_succeed(order=order, by=staff[1] if staff else None, now=on)
    order.refresh_from_db()
    return order


@pytest.mark.django_db
def test_annual_review_reminder_goes_out_3_months_before_expiry_once_r_post_02(staff):
    order = certified_order(staff)  # valid until 2027-03-15, remind on 2026-12-15
    assert reminders.send_due_reminders(now=at(2026, 12, 14))["annual_review"] == 0
    assert reminders.send_due_reminders(now=at(2026, 12, 15))["annual_review"] == 1
    assert reminders.send_due_reminders(now=at(2026, 12, 15, 10))["annual_review"] == 0
    assert reminders.send_due_reminders(now=at(2026, 12, 16))["annual_review"] == 0
    assert Reminder.objects.filter(order=order, milestone="annual_review").count() == 1
    assert Notification.objects.filter(order=order).count() == 2  # both assigned staff
    assert len(mail.outbox) == 2
    assert {m.to[0] for m in mail.outbox} == {u.email for u in staff}
    assert "start-annual-review" in mail.outbox[0].body


@pytest.mark.django_db
def test_no_annual_review_reminder_when_a_review_is_already_open_r_post_02(staff):
    order = certified_order(staff)
    order_create(account=order.account, kind="annual_review", by=staff[0], now=at(2026, 12, 1), early_ok=True)
    assert reminders.send_due_reminders(now=at(2026, 12, 15))["annual_review"] == 0


@pytest.mark.django_db
def test_resubmission_reminder_before_the_deadline_r_cert_12(staff, settings):
    settings.CERTIFICATION_REMINDER_LEAD_DAYS = 7
    order = make_order(account=make_account(staff=staff), until=OrderStatus.IN_REVIEW, now=at(2026, 9, 1))
    order_reject(order=order, by=None, note="x", now=at(2026, 9, 20))
    # deadline 2026-10-20: window opens 2026-10-13
    assert reminders.send_due_reminders(now=at(2026, 10, 12))["resubmission"] == 0
    assert reminders.send_due_reminders(now=at(2026, 10, 13))["resubmission"] == 1
    assert reminders.send_due_reminders(now=at(2026, 10, 14))["resubmission"] == 0


@pytest.mark.django_db
def test_invoice_reminders_before_request_deadline_and_expected_by_r_cert_10(staff):
    none = make_order(
        account=make_account(staff=staff),
        until=OrderStatus.IN_REVIEW,
        invoice_type="none",
        now=at(2026, 5, 1),
    )
    order_fail(
        order=none, by=None, reason=FailureReason.NOT_REGISTERED, now=at(2026, 5, 10)
    )  # request by 2026-06-09
    paper = make_order(account=make_account(staff=staff), until=OrderStatus.IN_REVIEW, now=at(2026, 5, 1))
    order_succeed(order=paper, by=None, now=at(2026, 5, 10))  # expected by 07-29
    sent = reminders.send_due_reminders(now=at(2026, 6, 2))
    assert sent["invoice_request"] == 1 and sent["invoice_expected"] == 0
    sent = reminders.send_due_reminders(now=at(2026, 7, 22))
    assert sent["invoice_expected"] == 1 and sent["invoice_request"] == 0
    assert reminders.send_due_reminders(now=at(2026, 7, 23))["invoice_expected"] == 0


@pytest.mark.django_db
def test_received_invoice_is_not_reminded_r_cert_10(staff):
    paper = make_order(account=make_account(staff=staff), until=OrderStatus.IN_REVIEW, now=at(2026, 5, 1))
    order_succeed(order=paper, by=None, now=at(2026, 5, 10))
    for step, kwargs in [
        (invoice_record_issued, {}),
        (invoice_record_mailed, {"tracking_number": "SF1"}),
        (invoice_record_received, {}),
    ]:
        step(order=paper, by=None, on=datetime.date(2026, 6, 1), **kwargs)
    assert reminders.send_due_reminders(now=at(2026, 7, 22))["invoice_expected"] == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_send_each_reminder_once_r_post_02(staff):
    """Two beat hosts firing at the same moment: the unique claim lets one win."""
    certified_order(staff)
    certified_order(staff, on=at(2026, 3, 14))
    results, errors = [], []
    barrier = threading.Barrier(2)

    def run():
        try:
            barrier.wait()
            results.append(reminders.send_due_reminders(now=at(2026, 12, 20)))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sum(r["annual_review"] for r in results) == 2
    assert Reminder.objects.count() == 2
    assert Notification.objects.count() == 4
    assert len(mail.outbox) == 4


@pytest.mark.django_db
def test_reminder_task_run_twice_through_celery_sends_once_r_post_02(staff, time_machine):
    from certification.tasks import send_reminders

    certified_order(staff)
    time_machine.move_to(at(2026, 12, 15), tick=False)
    first = send_reminders.apply().get()
    second = send_reminders.apply().get()
    assert first["annual_review"] == 1 and second["annual_review"] == 0
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_second_rejection_gets_its_own_resubmission_reminder_r_cert_12(staff, settings):
    """R-CERT-12: each rejection's 30-day window is reminded once, before its own end."""
    settings.CERTIFICATION_REMINDER_LEAD_DAYS = 7
    order = make_order(account=make_account(staff=staff), until=OrderStatus.IN_REVIEW, now=at(2026, 2, 20))
    order_reject(order=order, by=None, note="x", now=at(2026, 3, 2))  # by 04-01
    assert reminders.send_due_reminders(now=at(2026, 3, 25))["resubmission"] == 1
    order_resubmit(order=order, by=None, now=at(2026, 3, 26))
    order_reject(order=order, by=None, note="y", now=at(2026, 4, 2))  # by 05-02
    assert reminders.send_due_reminders(now=at(2026, 4, 26))["resubmission"] == 1
    assert reminders.send_due_reminders(now=at(2026, 4, 27))["resubmission"] == 0
    assert sorted(Reminder.objects.filter(order=order).values_list("due_on", flat=True)) == [
        datetime.date(2026, 4, 1),
        datetime.date(2026, 5, 2),
    ]
    assert Notification.objects.filter(order=order, milestone="resubmission").count() == 4


@pytest.mark.django_db
def test_reminder_for_an_unassigned_account_goes_to_the_administrators():
    """Clarifications ("Reminders reach someone"): nobody assigned → the Administrators."""
    admin = UserFactory(groups=["Administrators"])
    operator = UserFactory(groups=["Operators"])  # not assigned, not an administrator
    order = certified_order([])  # no staff assigned (demo/imported accounts)
    assert reminders.send_due_reminders(now=at(2026, 12, 15))["annual_review"] == 1
    assert list(Notification.objects.filter(order=order).values_list("user", flat=True)) == [admin.pk]
    assert [m.to for m in mail.outbox] == [[admin.email]]
    assert Reminder.objects.get(order=order).recipients == 1
    assert not Notification.objects.filter(user=operator).exists()


@pytest.mark.django_db
def test_reminder_that_reaches_nobody_is_not_counted_and_goes_out_later(django_user_model):
    """Clarifications: a reminder that reached nobody is not counted as sent; once an
    administrator exists it goes out."""
    order = certified_order([])
    django_user_model.objects.filter(is_superuser=True).update(is_active=False)
    assert reminders.send_due_reminders(now=at(2026, 12, 15))["annual_review"] == 0
    assert not Reminder.objects.filter(order=order).exists()
    admin = UserFactory(groups=["Administrators"])
    assert reminders.send_due_reminders(now=at(2026, 12, 16))["annual_review"] == 1
    assert Notification.objects.get(order=order).user == admin
