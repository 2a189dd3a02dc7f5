"""Our own figures: one Beijing day rolled up from the logs into DailyFigure (issue 28)."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from accounts.tests.factories import OfficialAccountFactory
from audience.models import QrCode, QrScanDay
from insights import rollups
from insights.models import DailyFigure, RollupDay
from messaging.models import Route
from messaging.tests.factories import KeywordRuleFactory
from notifications.models import Delivery, Send

from .factories import at, inbound, outbound

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 11, 10)


def own(account, day=DAY):
    return {
        (f.metric, f.dimension): f.value
        for f in DailyFigure.objects.filter(account=account, day=day, source="own")
    }


@pytest.fixture
def account():
    return OfficialAccountFactory()


def fill_day(account):
    rule = KeywordRuleFactory(account=account, name="价格")
    inbound(account, at(DAY, 0, 5), msg_type="event", event="CLICK", content="V_PRICE")
    inbound(account, at(DAY, 9), msg_type="event", event="CLICK", content="V_PRICE")
    inbound(account, at(DAY, 9), msg_type="event", event="CLICK", content="V_HELP")
    inbound(account, at(DAY, 9), msg_type="event", event="VIEW", content="https://example.com/shop")
    inbound(account, at(DAY, 10), content="价格", route=Route.KEYWORD, keyword_rule=rule)
    # a user writes at 10:00 and 10:05, staff answer at 10:10 (600 s from the first message)
    inbound(account, at(DAY, 10), openid="oWaits00000000000001", content="在吗")
    inbound(account, at(DAY, 10, 5), openid="oWaits00000000000001", content="有人吗")
    outbound(account, at(DAY, 10, 10), openid="oWaits00000000000001")
    outbound(account, at(DAY, 10, 11), openid="oWaits00000000000001")  # a second reply: not timed
    # the day before and the day after are not this day's
    inbound(
        account,
        at(DAY, 0) - datetime.timedelta(seconds=1),
        msg_type="event",
        event="CLICK",
        content="V_PRICE",
    )
    inbound(
        account, at(DAY, 0) + datetime.timedelta(days=1), msg_type="event", event="CLICK", content="V_PRICE"
    )
    code = QrCode.objects.create(account=account, scene="shop-1", name="门店1")
    QrScanDay.objects.create(code=code, day=DAY, scans=7, subscribes=3)
    send = Send.objects.create(account=account, wechat_template_id="T1", target_kind="openids")
    for status in ("delivered", "delivered", "user_block", "refused", "pending"):
        Delivery.objects.create(
            send=send,
            account=account,
            template_id="T1",
            openid="oUser0000000000000001",
            status=status,
            called_at=at(DAY, 12) if status != "pending" else None,
        )


def test_a_day_is_rolled_up_per_button_rule_code_and_template():
    account = OfficialAccountFactory()
    other = OfficialAccountFactory()
    fill_day(account)
    rollups.rollup_day(DAY)
    got = own(account)
    assert got[("menu.click", "V_PRICE")] == 2
    assert got[("menu.click", "V_HELP")] == 1
    assert got[("menu.click", "")] == 3
    assert got[("menu.view", "https://example.com/shop")] == 1
    assert got[("keyword.hit", "价格")] == 1
    assert got[("msg.inbound", "")] == 3
    assert got[("msg.inbound.users", "")] == 2
    assert got[("reply.sent", "")] == 2
    assert got[("reply.users", "")] == 1
    assert got[("reply.response.count", "")] == 1
    assert got[("reply.response.seconds", "")] == 600
    assert got[("qr.scan", "门店1")] == 7
    assert got[("qr.subscribe", "")] == 3
    assert got[("template.sent", "")] == 3
    assert got[("template.delivered", "")] == 2
    assert got[("template.failed", "")] == 2
    assert own(other) == {}


def test_rolling_a_day_up_twice_leaves_the_same_rows_and_keeps_wechats():
    account = OfficialAccountFactory()
    fill_day(account)
    DailyFigure.objects.create(account=account, day=DAY, metric="user.new", value=5, source="wechat")
    rollups.rollup_day(DAY)
    first = own(account)
    rollups.rollup_day(DAY)
    assert own(account) == first
    assert DailyFigure.objects.get(metric="user.new").value == 5
    # a figure that no longer exists (the log was corrected) disappears on the next run
    DailyFigure.objects.filter(metric="menu.click").update(value=99)
    rollups.rollup_day(DAY)
    assert own(account)[("menu.click", "")] == 3


def test_missed_days_are_caught_up_and_final_days_not_redone(settings):
    settings.INSIGHTS_OWN_BACKFILL_DAYS = 5
    now = at(DAY, 9)
    assert rollups.rollup_due(now=now) == 5  # DAY-4 … DAY (today, not final)
    days = dict(RollupDay.objects.values_list("day", "final"))
    assert days[DAY] is False and days[DAY - datetime.timedelta(days=1)] is True
    later = now + datetime.timedelta(days=2)  # the worker was down for two days
    assert rollups.due_days(now=later) == [
        DAY,
        DAY + datetime.timedelta(days=1),
        DAY + datetime.timedelta(days=2),
    ]
    assert rollups.rollup_due(now=later) == 3
    assert rollups.due_days(now=later) == [DAY + datetime.timedelta(days=2)]  # only today again


def test_the_task_runs_the_catch_up(settings):
    from insights import report_tasks

    settings.INSIGHTS_OWN_BACKFILL_DAYS = 2
    assert report_tasks.rollup_own_figures() == 2
    assert RollupDay.objects.filter(day=timezone.localdate()).exists()
