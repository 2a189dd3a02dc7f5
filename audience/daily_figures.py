"""audience's figures of one Beijing day, for insights' daily rollup (issue 28).

Collected by name like ``dashboard.py`` (see ``messaging/daily_figures.py`` for the contract).
Read from the audience's own per-day rollup (``QrScanDay``, kept by ``audience.events`` from the
stored SCAN / subscribe-with-``qrscene_`` events), so the message log is not read twice:

- ``qr.scan`` / ``qr.subscribe``: scans and follows by a channel QR code, per code (its name).
"""

from __future__ import annotations

import datetime

from django.db.models import Sum

from .models import QrScanDay

Row = tuple[int, str, str, int]
DIMENSION_MAX = 128


def daily_figures(*, day: datetime.date, start: datetime.datetime, end: datetime.datetime) -> list[Row]:
    del start, end  # QrScanDay is already per local day
    split: dict[tuple[int, str, str], int] = {}
    for account_id, name, scans, subscribes in (
        QrScanDay.objects.filter(day=day)
        .order_by()
        .values_list("code__account_id", "code__name")
        .annotate(scans=Sum("scans"), subscribes=Sum("subscribes"))
    ):
        dimension = (name or "?")[:DIMENSION_MAX]
        for metric, value in (("qr.scan", scans), ("qr.subscribe", subscribes)):
            split[account_id, metric, dimension] = split.get((account_id, metric, dimension), 0) + (
                value or 0
            )
    totals: dict[tuple[int, str], int] = {}
    for (account_id, metric, _d), value in split.items():
        totals[account_id, metric] = totals.get((account_id, metric), 0) + value
    return [(a, m, d, v) for (a, m, d), v in split.items()] + [(a, m, "", v) for (a, m), v in totals.items()]
