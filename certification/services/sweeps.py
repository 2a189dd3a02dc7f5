"""The sweeps run by beat: timed-out rejections (R-CERT-12) and lapsed certifications
(R-POST-04)."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from accounts.models import OfficialAccount
from certification.models import FailureReason, Order, OrderEvent, OrderStatus
from certification.reminders import notify_lapsed

from .account_certification import accounts_decertify
from .common import _now, _today
from .review import _fail

SWEEP_BATCH = 1000


def orders_fail_timed_out(*, now: datetime.datetime | None = None, batch_size: int = SWEEP_BATCH) -> int:
    """R-CERT-12: fail with reason "timeout" every rejected order not resubmitted within
    30 calendar days of its rejection. Only rejected orders: an order with the
    reviewer never times out. R-POST-04: a timed-out annual review clears the
    account's certification and switches its customer-service plug-in off.

    Idempotent: rows are claimed in batches with FOR UPDATE SKIP LOCKED by state, so a
    second run (or a second beat host) finds nothing to do; each is failed by `_fail`, as
    staff would fail it (history, invoice deadlines, R-POST-04 notifications).
    """
    now = _now(now)
    today = _today(now)
    failed = 0
    reason = FailureReason.TIMEOUT
    while True:
        with transaction.atomic():
            orders = list(
                Order.objects.select_for_update(skip_locked=True)
                .filter(status=OrderStatus.REJECTED, resubmission_deadline__lt=today)
                .order_by("pk")[:batch_size]
            )
            if not orders:
                break
            for order in orders:
                # The history says the reason only: nobody wrote a note.
                _fail(order, by=None, reason=reason, note=str(reason.label), now=now)
            failed += len(orders)
    return failed


def accounts_expire_certifications(*, now: datetime.datetime | None = None) -> int:
    """R-POST-04: an account that missed its annual review loses badge and certification.

    R-KF-01: its customer-service plug-in is switched off (`accounts_decertify`).
    Clears `certified_until` once it lies in the past (the badge is already gone the
    day after, `OfficialAccount.is_certified`), and notes it on the order that
    certified the account, with an in-admin notification to the account's staff.
    Idempotent: a cleared account is not selected again.
    """
    now = _now(now)
    today = _today(now)
    with transaction.atomic():
        accounts = list(
            OfficialAccount.objects.select_for_update(skip_locked=True)
            .filter(certified_until__lt=today)
            .values_list("pk", "certified_until")
        )
        if not accounts:
            return 0
        account_ids = [pk for pk, _until in accounts]
        lapsed = list(
            Order.objects.filter(
                status=OrderStatus.SUCCEEDED,
                account_id__in=account_ids,
                valid_until=F("account__certified_until"),
            )
        )
        orders = [order.pk for order in lapsed]
        accounts_decertify(account_ids=account_ids, now=now)
        OrderEvent.objects.bulk_create(
            [
                OrderEvent(
                    order_id=pk,
                    action="certification_lapsed",
                    at=now,
                    note=_(
                        "Annual review missed: the certification lapsed; WeChat may "
                        "change the account's name by force."
                    ),
                )
                for pk in orders
            ]
        )
        notify_lapsed(lapsed, now=now)
    return len(accounts)
