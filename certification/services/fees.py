"""The fee of an order (R-CERT-07, R-POST-01, R-POST-03)."""

from __future__ import annotations

from decimal import Decimal

from accounts.models import OfficialAccount
from certification.models import INITIAL_FEE, MODIFICATION_FEE, Order, OrderKind, OrderStatus

from .account_certification import certification_period_start


def order_compute_fee(*, account: OfficialAccount, kind: str) -> Decimal:
    """R-CERT-07 / R-POST-03: 300 CNY for an initial certification or an annual review,
    charged whatever the outcome. R-POST-01: a modification is free the first time within
    the current certification period, 200 CNY each time after.
    """
    if kind in (OrderKind.INITIAL, OrderKind.ANNUAL_REVIEW):
        return INITIAL_FEE
    earlier = Order.objects.filter(account=account, kind=OrderKind.MODIFICATION).exclude(
        status=OrderStatus.CANCELLED
    )
    period_start = certification_period_start(account)
    if period_start is not None:
        earlier = earlier.filter(created_at__gte=period_start)
    return MODIFICATION_FEE if earlier.exists() else Decimal("0.00")
