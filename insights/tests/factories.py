"""Rows the insights tests build: log rows of one day, figures of many."""

from __future__ import annotations

import datetime
import itertools

from django.utils import timezone

from insights.models import DailyFigure
from messaging.conversations.models import OutboundMessage
from messaging.models import InboundMessage

_seq = itertools.count()


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def inbound(
    account, when, *, openid="oUser0000000000000001", msg_type="text", event="", content="hi", **extra
):
    return InboundMessage.objects.create(
        account=account,
        dedupe_key=f"t{next(_seq)}",
        openid=openid,
        msg_type=msg_type,
        event=event,
        content=content,
        sent_at=when,
        received_at=when,
        **extra,
    )


def outbound(account, when, *, openid="oUser0000000000000001", status="sent"):
    return OutboundMessage.objects.create(
        account=account,
        openid=openid,
        msg_type="text",
        text="您好",
        status=status,
        created_at=when,
        sent_at=when,
    )


def figures(account, start: datetime.date, days: int, values: dict[str, int], *, source="wechat"):
    """Figures of `days` days from `start`; WeChat's come with their days recorded as fetched in every
    statistics area, as the datacube sync leaves them (else the pages say they were never fetched)."""
    if source == "wechat":
        from insights.models import Area, SyncDay

        SyncDay.objects.bulk_create(
            (
                SyncDay(account=account, area=area, day=start + datetime.timedelta(days=n), status="ok")
                for n in range(days)
                for area in Area.values
            ),
            ignore_conflicts=True,
        )
    DailyFigure.objects.bulk_create(
        DailyFigure(
            account=account,
            day=start + datetime.timedelta(days=n),
            metric=metric,
            value=value if metric != "user.cumulate" else value + n,
            source=source,
        )
        for n in range(days)
        for metric, value in values.items()
    )
