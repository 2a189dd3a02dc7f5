"""notifications' figures of one Beijing day, for insights' daily rollup (issue 28).

Collected by name like ``dashboard.py`` (see ``messaging/daily_figures.py`` for the contract).
From the delivery log, by the time each delivery was sent to WeChat (``called_at``), read
through the ``created_at`` index (a delivery is created before it is sent; sends run within
days, ``SEND_LOOKBACK`` bounds the scan):

- ``template.sent``: template messages WeChat accepted (it answered a msgid);
- ``template.delivered``: of those, the ones WeChat reported delivered (TEMPLATESENDJOBFINISH);
- ``template.failed``: refused by WeChat, blocked by the user or failed in WeChat's system.
"""

from __future__ import annotations

import datetime

from django.db.models import Count

from .models import Delivery, DeliveryStatus

Row = tuple[int, str, str, int]
SEND_LOOKBACK = datetime.timedelta(days=31)
ACCEPTED = (
    DeliveryStatus.SENT,
    DeliveryStatus.DELIVERED,
    DeliveryStatus.USER_BLOCK,
    DeliveryStatus.SYSTEM_FAILED,
)
FAILED = (DeliveryStatus.REFUSED, DeliveryStatus.USER_BLOCK, DeliveryStatus.SYSTEM_FAILED)


def daily_figures(*, day: datetime.date, start: datetime.datetime, end: datetime.datetime) -> list[Row]:
    del day
    totals: dict[tuple[int, str], int] = {}
    for account_id, status, n in (
        Delivery.objects.filter(
            created_at__gte=start - SEND_LOOKBACK, called_at__gte=start, called_at__lt=end
        )
        .order_by()
        .values_list("account_id", "status")
        .annotate(n=Count("id"))
    ):
        for metric, statuses in (
            ("template.sent", ACCEPTED),
            ("template.delivered", (DeliveryStatus.DELIVERED,)),
            ("template.failed", FAILED),
        ):
            if status in statuses:
                totals[account_id, metric] = totals.get((account_id, metric), 0) + n
    return [(a, m, "", v) for (a, m), v in totals.items()]
