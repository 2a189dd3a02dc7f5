"""subscribe/unsubscribe/SCAN read from the stored message log in batches (issue 24)."""

import datetime

from django.utils import timezone

from audience import events, services
from audience.models import Follower, QrScanDay
from messaging.models import InboundMessage


def push(account, openid, event, key="", minutes_ago=5, n=[0]):
    n[0] += 1
    at = timezone.now() - datetime.timedelta(minutes=minutes_ago)
    return InboundMessage.objects.create(
        account=account,
        dedupe_key=f"e{n[0]}",
        openid=openid,
        msg_type="event",
        event=event,
        content=key,
        sent_at=at,
        received_at=at,
    )


def test_events_update_followers_and_count_codes_once(account, wx, operator):
    code = services.create_qr_code(
        account=account, kind="permanent", scene="shop-1", name="门店1", by=operator
    )
    push(account, "oNew00000000000001", "subscribe", "qrscene_shop-1", minutes_ago=9)
    push(account, "oNew00000000000001", "SCAN", "shop-1", minutes_ago=8)
    push(account, "oNew00000000000002", "subscribe", minutes_ago=7)
    push(account, "oNew00000000000002", "unsubscribe", minutes_ago=6)
    push(account, "oNew00000000000003", "subscribe", minutes_ago=0)  # not settled yet
    assert events.consume_events() == 4
    assert events.consume_events() == 0  # a second run changes nothing
    first = Follower.objects.get(openid="oNew00000000000001")
    assert first.subscribed and first.qr_code == code
    assert not Follower.objects.get(openid="oNew00000000000002").subscribed
    day = QrScanDay.objects.get(code=code)
    assert (day.scans, day.subscribes) == (2, 1)
    assert not Follower.objects.filter(openid="oNew00000000000003").exists()


def test_a_codes_tag_is_applied_to_who_scans_or_follows_by_it(account, wx, operator):
    """The tag goes to WeChat first, then to our rows; a refusal (45059) skips only that batch."""
    vip = services.create_tag(account=account, name="门店粉丝", by=operator)
    code = services.create_qr_code(
        account=account, kind="permanent", scene="shop-2", name="门店2", tag=vip, by=operator
    )
    at = int(timezone.now().timestamp())
    for openid in ("oTag00000000000001", "oTag00000000000002"):
        wx.state().subscribe(openid, at=at, qr_scene_str="shop-2")
    push(account, "oTag00000000000001", "subscribe", "qrscene_shop-2", minutes_ago=9)
    push(account, "oTag00000000000002", "SCAN", "shop-2", minutes_ago=8)
    push(account, "oTag00000000000002", "SCAN", "shop-2", minutes_ago=7)
    assert events.consume_events() == 3
    assert wx.state().user_tags("oTag00000000000001") == [vip.wechat_id]
    assert wx.state().user_tags("oTag00000000000002") == [vip.wechat_id]
    assert Follower.objects.get(openid="oTag00000000000001").tag_ids == [vip.wechat_id]
    assert Follower.objects.get(openid="oTag00000000000002").tag_ids == [vip.wechat_id]
    assert code.days.get().scans == 3

    wx.state().subscribe("oTag00000000000003", at=at)
    wx.state().info["oTag00000000000003"]["tagid_list"] = list(range(300, 320))  # 20 tags already
    push(account, "oTag00000000000003", "SCAN", "shop-2", minutes_ago=6)
    assert events.consume_events() == 1  # the stream goes on
    assert vip.wechat_id not in wx.state().user_tags("oTag00000000000003")
    assert Follower.objects.get(openid="oTag00000000000003").tag_ids == []


def test_first_and_last_interaction_come_from_the_log_and_only_move_outwards(account, wx):
    """Messages and user events set the follower's first / last interaction; unsubscribe
    and WeChat's own reports do not; a late, older row moves only the first one back."""
    Follower.objects.create(account=account, openid="oTalk0000000000001")
    push(account, "oTalk0000000000001", "subscribe", minutes_ago=50)
    text = push(account, "oTalk0000000000001", "", minutes_ago=40)
    InboundMessage.objects.filter(pk=text.pk).update(msg_type="text", content="你好")
    push(account, "oTalk0000000000001", "TEMPLATESENDJOBFINISH", minutes_ago=20)
    push(account, "oTalk0000000000001", "unsubscribe", minutes_ago=10)
    assert events.consume_events() == 3  # the template report is not read at all
    follower = Follower.objects.get(openid="oTalk0000000000001")
    first, last = follower.first_interaction_at, follower.last_interaction_at
    assert round((last - first).total_seconds()) == 600  # subscribe (50 min ago) .. the text (40)
    late = push(account, "oTalk0000000000001", "CLICK", "K", minutes_ago=90)
    assert late and events.consume_events() == 1
    follower.refresh_from_db()
    assert follower.first_interaction_at < first and follower.last_interaction_at == last


def test_the_drain_rests_after_each_batch_and_stops_when_drained(account, wx):
    """The consumer paces itself (issue 24: the callback keeps ≥ 0.9× its rate while it
    drains): after each batch it rests PACE times that batch's time, and it stops once a
    batch reads nothing or its time budget is spent."""
    for n in range(5):
        push(account, f"oDrain{n:012d}", "subscribe", minutes_ago=9)
    rests = []
    assert events.drain(pace=3.0, budget=60, batch=2, sleep=rests.append) == 5
    assert len(rests) == 3  # batches of 2, 2, 1 rest after them; the empty fourth ends it
    assert all(r > 0 for r in rests)
    assert Follower.objects.filter(account=account, openid__startswith="oDrain").count() == 5
    for n in range(5, 9):
        push(account, f"oDrain{n:012d}", "subscribe", minutes_ago=9)
    rests.clear()
    assert events.drain(pace=1.0, budget=0, batch=2, sleep=rests.append) == 2  # one batch, then out of time
    assert rests == []
