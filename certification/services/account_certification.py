"""The account's certification itself: which stored success set it, when its period
began (R-POST-01), and taking it away (R-POST-04, R-KF-01)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from accounts.models import OfficialAccount
from certification.models import Order, OrderKind, OrderStatus


def certifying_order(account: OfficialAccount) -> Order | None:
    """The stored success that set the account's current certification: the succeeded
    initial certification or annual review whose `valid_until` is `certified_until`
    (only those two kinds set a validity). None when no order of ours set it (an
    account imported as certified) or the account is not certified."""
    if account.certified_until is None:
        return None
    return (
        Order.objects.filter(
            account=account,
            status=OrderStatus.SUCCEEDED,
            kind__in=[OrderKind.INITIAL, OrderKind.ANNUAL_REVIEW],
            valid_until=account.certified_until,
        )
        .order_by("-completed_at")
        .first()
    )


def certification_period_start(account: OfficialAccount) -> datetime.datetime | None:
    """R-POST-01: when the current certification period began — the stored success of the
    initial certification or annual review that set `certified_until` (`certifying_order`).

    Read from the order, never computed as `certified_until − 12 months` (a success on
    29 February would shift it; Clarifications, R-POST-01). None when no order of ours
    set the certification (an account imported as certified): every earlier
    modification then counts, so the fee is never wrongly waived.
    """
    order = certifying_order(account)
    return order.completed_at if order is not None else None


def accounts_decertify(*, account_ids: Iterable[int], now: datetime.datetime) -> int:
    """R-POST-04 / R-KF-01: the certification is gone — the badge and certification data
    go, and everything that needs certification stops: the customer-service plug-in is
    switched off (no agent can be added until the account is certified again).
    """
    return OfficialAccount.objects.filter(pk__in=list(account_ids)).update(
        certified_until=None, kf_enabled=False, updated_at=now
    )
