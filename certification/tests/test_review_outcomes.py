"""Review outcomes: success, rejections, the six failure reasons, fees (R-CERT-07/10/12,
R-POST-01..04)."""

import datetime
from decimal import Decimal

import pytest

from accounts.tests.factories import UserFactory
from certification.models import FailureReason, Order, OrderEvent, OrderStatus
from certification.services.application_data import order_update_data
from certification.services.creation import order_create
from certification.services.errors import CertificationError
from certification.services.review import order_fail, order_reject, order_succeed
from certification.services.steps import (
    order_accept_naming_rules,
    order_accept_service_agreement,
    order_cancel,
    order_complete_data,
)
from certification.services.submission import order_resubmit, order_submit_free
from certification.services.sweeps import accounts_expire_certifications, orders_fail_timed_out
from certification.tests.factories import make_account, make_order

pytestmark = pytest.mark.django_db
SH = datetime.timezone(datetime.timedelta(hours=8))


def at(y, m, d, h=10):
    return datetime.datetime(y, m, d, h, 0, tzinfo=SH)


def test_success_certifies_for_one_year_and_knows_the_reminder_date_r_post_02():
    order = make_order(until=OrderStatus.IN_REVIEW, now=at(2026, 3, 1))
    order_succeed(order=order, by=None, now=at(2026, 3, 15))
    order.refresh_from_db()
    order.account.refresh_from_db()
    assert order.valid_until == datetime.date(2027, 3, 15)
    assert order.account.certified_until == datetime.date(2027, 3, 15)
    assert order.annual_review_remind_on == datetime.date(2026, 12, 15)
    assert order.account.is_certified(datetime.date(2027, 3, 15))
    assert not order.account.is_certified(datetime.date(2027, 3, 16))


def test_success_sets_the_invoice_deadlines_from_completion_r_cert_10():
    order = make_order(until=OrderStatus.IN_REVIEW, now=at(2026, 3, 1))
    order_succeed(order=order, by=None, now=at(2026, 3, 15))
    order.refresh_from_db()
    assert order.invoice_request_deadline == datetime.date(2026, 4, 14)
    assert order.invoice_expected_by == datetime.date(2026, 6, 3)


def test_fee_is_300_for_initial_and_annual_review_whatever_the_outcome_r_cert_07_r_post_03():
    order = make_order(until=OrderStatus.IN_REVIEW, now=at(2026, 3, 1))
    assert order.fee == Decimal("300.00")
    order_fail(order=order, by=None, reason=FailureReason.NOT_REGISTERED, now=at(2026, 3, 10))
    order.refresh_from_db()
    assert order.fee == Decimal("300.00") and order.paid_at is not None
    account = order.account
    first = make_order(account=account, until=OrderStatus.IN_REVIEW, now=at(2026, 3, 11))
    order_succeed(order=first, by=None, now=at(2026, 3, 20))
    annual = order_create(account=account, kind="annual_review", by=None, now=at(2026, 12, 20))
    assert annual.fee == Decimal("300.00")


def test_first_modification_is_free_later_ones_cost_200_r_post_01():
    user = UserFactory()
    order = make_order(by=user, until=OrderStatus.IN_REVIEW, now=at(2026, 3, 1))
    order_succeed(order=order, by=user, now=at(2026, 3, 15))
    account = order.account
    first = order_create(account=account, kind="modification", by=user, now=at(2026, 4, 1))
    assert first.fee == Decimal("0.00")
    order_cancel(order=first, by=user)
    # A cancelled modification does not use up the free one.
    again = order_create(account=account, kind="modification", by=user)
    assert again.fee == Decimal("0.00")
    walk = make_order_from(again, user)
    order_succeed(order=walk, by=user)
    second = order_create(account=account, kind="modification", by=user)
    assert second.fee == Decimal("200.00")


def make_order_from(order, user):
    """Walk an existing draft to review; a free order needs no payment."""
    from certification.tests.factories import fill_documents

    order_accept_service_agreement(order=order, by=user)
    order_accept_naming_rules(order=order, by=user)
    order.refresh_from_db()
    order_update_data(order=order, by=user)
    fill_documents(order, by=user)
    order_complete_data(order=order, by=user)
    order_submit_free(order=order, by=user)
    order.refresh_from_db()
    assert order.status == OrderStatus.IN_REVIEW and order.paid_at is None
    return order


def test_modification_needs_a_valid_certification_r_post_01():
    with pytest.raises(CertificationError, match="only be modified while the certification is valid"):
        order_create(account=make_account(), kind="modification", by=None)


def test_annual_review_needs_a_certification_and_is_prefilled_r_post_03():
    with pytest.raises(CertificationError, match="no certification to review"):
        order_create(account=make_account(), kind="annual_review", by=None)
    order = make_order(until=OrderStatus.IN_REVIEW, operator_name="赵六")
    order_succeed(order=order, by=None)
    annual = order_create(account=order.account, kind="annual_review", by=None, early_ok=True)
    assert annual.operator_name == "赵六"
    assert annual.renews_id == order.pk
    assert annual.review_company_id == order.review_company_id


def test_failed_annual_review_clears_the_certification_r_post_04():
    """R-POST-04: a failed annual review loses the badge and the certification data."""
    order = make_order(until=OrderStatus.IN_REVIEW)
    order_succeed(order=order, by=None)
    annual = make_order(account=order.account, kind="annual_review", until=OrderStatus.IN_REVIEW)
    order_fail(order=annual, by=None, reason=FailureReason.OPERATOR_ID_WRONG)
    annual.account.refresh_from_db()
    assert annual.account.certified_until is None
    assert not annual.account.is_certified()


@pytest.mark.parametrize(
    "reason",
    [
        FailureReason.NOT_REGISTERED,
        FailureReason.OPERATOR_NOT_AUTHORISED,
        FailureReason.OPERATOR_ID_WRONG,
        FailureReason.TRADEMARK_NOT_AUTHORISED,
        FailureReason.RESUBMITTED_THREE_TIMES,
        FailureReason.TIMEOUT,
    ],
)
def test_each_of_the_six_failure_reasons_fails_the_order_r_cert_12(reason):
    order = make_order(until=OrderStatus.IN_REVIEW)
    order_fail(order=order, by=None, reason=reason, note="审核结论")
    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED and order.failure_reason == reason
    assert order.completed_at is not None


def test_there_are_exactly_six_failure_reasons_and_others_are_refused_r_cert_12():
    assert len(FailureReason.values) == 6
    order = make_order(until=OrderStatus.IN_REVIEW)
    with pytest.raises(CertificationError, match="six failure reasons"):
        order_fail(order=order, by=None, reason="bad_luck")


def test_every_rejection_opens_its_own_30_day_window_r_cert_12():
    """R-CERT-12 (Clarifications): the first window counts from the first rejection, each
    later one from its own rejection. The issue's case: rejected 03-02, resubmitted
    03-12, rejected again 04-02 — the resubmission is accepted until 05-02."""
    order = make_order(until=OrderStatus.IN_REVIEW, now=at(2026, 2, 20))
    order_reject(order=order, by=None, note="营业执照模糊", now=at(2026, 3, 2))
    order.refresh_from_db()
    assert order.resubmission_deadline == datetime.date(2026, 4, 1)
    order_resubmit(order=order, by=None, now=at(2026, 3, 12))
    order_reject(order=order, by=None, note="仍不清晰", now=at(2026, 4, 2))
    order.refresh_from_db()
    assert order.resubmission_deadline == datetime.date(2026, 5, 2)
    assert order.first_rejected_at == at(2026, 3, 2) and order.rejection_count == 2
    # The nightly sweep of 04-03 leaves it alone; the resubmission is in time.
    assert orders_fail_timed_out(now=at(2026, 4, 3, 1)) == 0
    order_resubmit(order=order, by=None, now=at(2026, 4, 20))
    order.refresh_from_db()
    assert order.status == OrderStatus.IN_REVIEW and order.resubmission_count == 2


def test_an_order_with_the_reviewer_never_times_out_r_cert_12():
    """R-CERT-12: resubmitted in time, then the reviewer takes months — no timeout."""
    order = make_order(until=OrderStatus.IN_REVIEW, now=at(2026, 2, 20))
    order_reject(order=order, by=None, note="x", now=at(2026, 3, 2))
    order_resubmit(order=order, by=None, now=at(2026, 3, 12))
    assert orders_fail_timed_out(now=at(2026, 6, 30)) == 0
    order.refresh_from_db()
    assert order.status == OrderStatus.IN_REVIEW


def test_resubmission_on_the_deadline_is_accepted_the_day_after_refused_r_cert_12():
    order = make_order(until=OrderStatus.IN_REVIEW, now=at(2026, 9, 1))
    order_reject(order=order, by=None, note="x", now=at(2026, 9, 20))
    with pytest.raises(CertificationError, match="deadline"):
        order_resubmit(order=order, by=None, now=at(2026, 10, 21, 0))
    order_resubmit(order=order, by=None, now=at(2026, 10, 20, 23))
    order.refresh_from_db()
    assert order.status == OrderStatus.IN_REVIEW
    # R-CERT-11: the review clock restarted at the resubmission.
    assert order.review_due_on == datetime.date(2026, 11, 10)


def test_third_noncompliant_resubmission_fails_the_order_r_cert_12():
    order = make_order(until=OrderStatus.IN_REVIEW, now=at(2026, 9, 1))
    for day in (2, 4, 6):
        order_reject(order=order, by=None, note="不合规", now=at(2026, 9, day))
        order_resubmit(order=order, by=None, now=at(2026, 9, day + 1))
    order.refresh_from_db()
    assert order.resubmission_count == 3 and order.status == OrderStatus.IN_REVIEW
    order_reject(order=order, by=None, note="第三次仍不合规", now=at(2026, 9, 8))
    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED
    assert order.failure_reason == FailureReason.RESUBMITTED_THREE_TIMES


def test_timeout_sweep_fails_only_orders_past_the_deadline_and_runs_twice_safely_r_cert_12():
    late = make_order(until=OrderStatus.IN_REVIEW, now=at(2026, 9, 1))
    order_reject(order=late, by=None, note="x", now=at(2026, 9, 20))
    on_time = make_order(until=OrderStatus.IN_REVIEW, now=at(2026, 9, 1))
    order_reject(order=on_time, by=None, note="x", now=at(2026, 9, 21))
    # 2026-10-21: the day after late's deadline, the day of on_time's.
    assert orders_fail_timed_out(now=at(2026, 10, 21, 1)) == 1
    assert orders_fail_timed_out(now=at(2026, 10, 21, 2)) == 0
    late.refresh_from_db()
    on_time.refresh_from_db()
    assert late.status == OrderStatus.FAILED and late.failure_reason == FailureReason.TIMEOUT
    assert late.invoice_request_deadline == datetime.date(2026, 11, 20)
    assert on_time.status == OrderStatus.REJECTED
    assert OrderEvent.objects.filter(order=late, to_status="failed").count() == 1


def test_timed_out_annual_review_clears_the_certification_r_post_04_r_cert_12():
    order = make_order(until=OrderStatus.IN_REVIEW, now=at(2026, 1, 5))
    order_succeed(order=order, by=None, now=at(2026, 1, 10))
    annual = make_order(
        account=order.account, kind="annual_review", until=OrderStatus.IN_REVIEW, now=at(2026, 11, 1)
    )
    order_reject(order=annual, by=None, note="x", now=at(2026, 11, 5))
    orders_fail_timed_out(now=at(2026, 12, 6))
    annual.account.refresh_from_db()
    assert annual.account.certified_until is None


def test_missed_annual_review_lapses_the_certification_once_r_post_04():
    """R-POST-04: an account that misses its annual review loses the certification."""
    order = make_order(until=OrderStatus.IN_REVIEW, now=at(2025, 3, 1))
    order_succeed(order=order, by=None, now=at(2025, 3, 10))
    assert accounts_expire_certifications(now=at(2026, 3, 10)) == 0  # last valid day
    assert accounts_expire_certifications(now=at(2026, 3, 11)) == 1
    assert accounts_expire_certifications(now=at(2026, 3, 12)) == 0
    order.account.refresh_from_db()
    assert order.account.certified_until is None
    assert OrderEvent.objects.filter(order=order, action="certification_lapsed").count() == 1


def test_transitions_are_audited_with_who_and_why():
    user = UserFactory()
    order = make_order(by=user, until=OrderStatus.IN_REVIEW)
    order_reject(order=order, by=user, note="照片模糊")
    event = OrderEvent.objects.filter(order=order).last()
    assert (event.from_status, event.to_status, event.by, event.note) == (
        "in_review",
        "rejected",
        user,
        "照片模糊",
    )


def test_cancel_is_refused_once_paid():
    order = make_order(until=OrderStatus.IN_REVIEW)
    with pytest.raises(CertificationError):
        order_cancel(order=order, by=None)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.IN_REVIEW


def test_lapse_notifies_the_accounts_staff_once_r_post_04():
    """R-POST-04: the staff are told once — including that WeChat may rename by force."""
    from accounts.tests.factories import UserFactory
    from certification.models import Notification

    user = UserFactory(groups=["Operators"])
    order = make_order(account=make_account(staff=[user]), until=OrderStatus.IN_REVIEW, now=at(2025, 3, 1))
    order_succeed(order=order, by=None, now=at(2025, 3, 10))
    accounts_expire_certifications(now=at(2026, 3, 11))
    accounts_expire_certifications(now=at(2026, 3, 12))
    notes = Notification.objects.filter(user=user, milestone="lapsed")
    assert notes.count() == 1 and notes.get().order_id == order.pk
    assert "微信可能强制修改该帐号的名称" in notes.get().body


@pytest.mark.parametrize("how", ["lapse", "failed_review", "timed_out_review"])
def test_losing_the_certification_switches_the_kf_plug_in_off_and_blocks_agents_r_kf_01_r_post_04(how):
    """R-KF-01 / R-POST-04 (Clarifications): when the certification lapses or the annual
    review fails, the customer-service plug-in is switched off and no agent can be added
    until the account is certified again; the staff read that the name may be changed by
    force."""
    from accounts.models import OfficialAccount
    from certification.models import Notification
    from messaging.kf.services import KfError, kf_account_add

    user = UserFactory(groups=["Operators"])
    order = make_order(
        account=make_account(staff=[user], wechat_id="lapse_shop"),
        until=OrderStatus.IN_REVIEW,
        now=at(2025, 3, 1),
    )
    order_succeed(order=order, by=None, now=at(2025, 3, 10))
    OfficialAccount.objects.filter(pk=order.account_id).update(kf_enabled=True)
    if how == "lapse":
        accounts_expire_certifications(now=at(2026, 3, 11))
    else:
        annual = make_order(
            account=order.account,
            kind="annual_review",
            by=user,
            until=OrderStatus.IN_REVIEW,
            now=at(2026, 1, 5),
        )
        if how == "failed_review":
            order_fail(order=annual, by=None, reason=FailureReason.OPERATOR_ID_WRONG, now=at(2026, 1, 20))
        else:
            order_reject(order=annual, by=None, note="x", now=at(2026, 1, 20))
            orders_fail_timed_out(now=at(2026, 2, 20))
    account = OfficialAccount.objects.get(pk=order.account_id)
    assert account.kf_enabled is False and account.certified_until is None
    with pytest.raises(KfError, match="certified service accounts only"):
        kf_account_add(account=account, prefix="kf01", nickname="小王")
    note = Notification.objects.get(user=user, milestone="lapsed")
    assert "微信可能强制修改该帐号的名称" in note.body
    assert "多客服插件已关闭" in note.body


def test_expired_certification_blocks_new_agents_before_the_sweep_r_kf_01():
    """R-KF-01: the day after expiry, before the nightly sweep, no agent can be added."""
    from accounts.tests.factories import OfficialAccountFactory
    from messaging.kf.services import KfError, kf_account_check_new

    account = OfficialAccountFactory(
        kf_enabled=True, wechat_id="old_shop", certified_until=datetime.date(2020, 1, 1)
    )
    with pytest.raises(KfError):
        kf_account_check_new(account=account, prefix="kf02", nickname="小李")


def test_free_modification_period_starts_on_the_stored_success_of_29_february_r_post_01():
    """R-POST-01 (Clarifications): the period starts on the stored success date, never on
    `certified_until − 12 months` — a success on 2028-02-29 (valid until 2029-02-28) must
    not pull a modification made on 2028-02-28, in the previous period, into this one."""
    import time_machine

    user = UserFactory()
    with time_machine.travel(at(2027, 3, 1), tick=False):
        order = make_order(by=user, until=OrderStatus.IN_REVIEW, now=at(2027, 3, 1))
        order_succeed(order=order, by=user, now=at(2027, 3, 5))
    account = order.account
    with time_machine.travel(at(2028, 2, 28), tick=False):
        modification = order_create(account=account, kind="modification", by=user)
        assert modification.fee == Decimal("0.00")
        order_succeed(order=make_order_from(modification, user), by=user)
        annual = make_order(account=account, kind="annual_review", by=user, until=OrderStatus.IN_REVIEW)
    with time_machine.travel(at(2028, 2, 29), tick=False):
        order_succeed(order=annual, by=user)
    account.refresh_from_db()
    assert account.certified_until == datetime.date(2029, 2, 28)
    with time_machine.travel(at(2028, 3, 10), tick=False):
        first_of_period = order_create(account=account, kind="modification", by=user)
    assert first_of_period.fee == Decimal("0.00")
