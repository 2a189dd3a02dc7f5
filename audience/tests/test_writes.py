"""Honest audience writes (issue 23, point 3; the house rule "record the intent before the
call, settle an unknown outcome by reading WeChat back"): every tag/untag, blacklist,
remark and tag create/rename/delete is a ``WeChatWrite`` row written before the call. When
WeChat applied the call and its answer was lost (the sandbox's "lost" fault: the handler
runs, the connection closes unanswered), the write is read back and recorded done; when it
was not applied, it is not recorded done; the sweeper settles writes whose writer died or
could not reach WeChat/Redis. Real sandbox over loopback HTTP, real PostgreSQL/Redis."""

import datetime

import pytest
from django.utils import timezone

from audience import operations, services
from audience.models import Follower, FollowerTag, Tag, WeChatWrite
from audience.services import AudienceError
from core.testing.faults import free_port
from wechat.api import users as users_api

State = WeChatWrite.State
TAGGING = "/cgi-bin/tags/members/batchtagging"


@pytest.fixture
def synced(account, wx):
    wx.generate(60)
    services.run_sync(services.start_sync(account=account).pk)
    return [wx.state().openid_at(i) for i in range(60)]


def lose_answers(wx, account, api, times=3):
    """WeChat applies the next `times` calls of `api` and their answers never arrive (the
    client tries an idempotent call 3 times)."""
    wx.sb.force_error(api, "lost", times=times, appid=account.appid)


def expire_leases(**older):
    """As if the writer died: its lease and its call are in the past."""
    past = timezone.now() - datetime.timedelta(minutes=10)
    WeChatWrite.objects.filter(state__in=[State.PENDING, State.SENT]).update(lease_until=past, **older)


def test_the_intent_is_recorded_before_the_call(account, wx, operator, synced):
    """A write WeChat refuses is recorded failed, in words; one it did is recorded done."""
    tag = services.create_tag(account=account, name="VIP", by=operator)
    write = WeChatWrite.objects.get(action=WeChatWrite.Action.TAG_CREATE)
    assert (write.state, write.tag_wechat_id, write.text) == (State.DONE, tag.wechat_id, "VIP")
    assert write.by == operator
    wx.sb.force_error(TAGGING, 45159, appid=account.appid)
    with pytest.raises(AudienceError) as caught:
        services.tag_followers(tag=tag, openids=synced, by=operator)
    assert "0 of 60" in caught.value.user_message or "0 个" in caught.value.user_message
    first, second = WeChatWrite.objects.filter(action=WeChatWrite.Action.TAG).order_by("pk")
    assert (first.state, first.errcode, first.attempts) == (State.FAILED, 45159, 1)
    assert "标签" in first.detail  # WeChat's refusal in words
    assert (second.state, second.attempts) == (State.FAILED, 0)  # never sent, and says so
    assert not FollowerTag.objects.exists()


def test_tagging_whose_answer_was_lost_is_read_back_and_recorded_done(account, wx, operator, synced):
    tag = services.create_tag(account=account, name="VIP", by=operator)
    lose_answers(wx, account, TAGGING)
    assert services.tag_followers(tag=tag, openids=synced, by=operator) == 60
    first, second = WeChatWrite.objects.filter(action=WeChatWrite.Action.TAG).order_by("pk")
    assert (first.state, first.read_backs, first.applied) == (State.DONE, 1, 50)
    assert second.state == State.DONE and second.read_backs == 0  # answered normally
    assert FollowerTag.objects.filter(tag_id=tag.wechat_id).count() == 60
    assert Tag.objects.get(pk=tag.pk).local_count == 60
    lose_answers(wx, account, "/cgi-bin/tags/members/batchuntagging")
    assert services.tag_followers(tag=tag, openids=synced[:10], by=operator, untag=True) == 10
    assert FollowerTag.objects.filter(tag_id=tag.wechat_id).count() == 50


def test_blacklist_remark_and_tag_writes_whose_answer_was_lost_are_read_back(account, wx, operator, synced):
    lose_answers(wx, account, "/cgi-bin/tags/members/batchblacklist")
    assert services.blacklist_followers(account=account, openids=synced[:5], by=operator) == 5
    assert Follower.objects.filter(blacklisted=True).count() == 5
    lose_answers(wx, account, "/cgi-bin/tags/members/batchunblacklist")
    assert services.blacklist_followers(account=account, openids=synced[:2], by=operator, remove=True) == 2
    assert Follower.objects.filter(blacklisted=True).count() == 3

    lose_answers(wx, account, "/cgi-bin/user/info/updateremark")
    follower = Follower.objects.get(openid=synced[7])
    follower = services.set_remark(follower=follower, remark="老客户", by=operator)
    assert follower.remark == "老客户" and wx.state().info[synced[7]]["remark"] == "老客户"

    lose_answers(wx, account, "/cgi-bin/tags/create", times=1)  # not idempotent: the client sends it once
    tag = services.create_tag(account=account, name="新客", by=operator)
    assert wx.state().tags[tag.wechat_id] == "新客"
    lose_answers(wx, account, "/cgi-bin/tags/update")
    assert services.rename_tag(tag=tag, name="老客", by=operator).name == "老客"
    lose_answers(wx, account, "/cgi-bin/tags/delete", times=1)  # a second try says 45159: done too
    services.delete_tag(tag=tag, by=operator)
    assert not Tag.objects.exists() and tag.wechat_id not in wx.state().tags
    writes = WeChatWrite.objects.all()
    assert {w.state for w in writes} == {State.DONE}
    assert all(w.read_backs == 1 for w in writes.exclude(action=WeChatWrite.Action.TAG_DELETE))


def test_a_lost_call_wechat_did_not_apply_is_never_recorded_done(account, wx, operator, synced):
    """Dropped before WeChat did anything: read back says no. Right after the call that is
    "being checked" (a late answer may still apply it); once CONFIRM_AFTER has passed the
    sweeper records it not done, in words."""
    follower = Follower.objects.get(openid=synced[3])
    wx.sb.force_error("/cgi-bin/user/info/updateremark", "drop", times=3, appid=account.appid)
    with pytest.raises(AudienceError) as caught:
        services.set_remark(follower=follower, remark="未生效", by=operator)
    assert caught.value.user_message == str(services.BEING_CHECKED)
    write = WeChatWrite.objects.get()
    assert (write.state, write.read_backs) == (State.SENT, 1)
    follower.refresh_from_db()
    assert follower.remark == ""
    assert services.settle_writes() == {"sent": 0, "read_back": 0, "superseded": 0}  # still leased
    expire_leases(sent_at=timezone.now() - operations.CONFIRM_AFTER * 2)
    assert services.settle_writes()["failed"] == 1
    write.refresh_from_db()
    assert write.state == State.FAILED and ("not applied" in write.detail or "未" in write.detail)
    assert Follower.objects.get(pk=follower.pk).remark == ""


def test_when_the_read_back_fails_too_the_sweeper_settles_it_later(account, wx, operator, synced):
    tag = services.create_tag(account=account, name="VIP", by=operator)
    lose_answers(wx, account, TAGGING)
    wx.sb.force_error("/cgi-bin/user/info/batchget", "drop", times=3, appid=account.appid)
    with pytest.raises(AudienceError) as caught:
        services.tag_followers(tag=tag, openids=synced[:20], by=operator)
    assert "20" in caught.value.user_message
    write = WeChatWrite.objects.get(action=WeChatWrite.Action.TAG)
    assert write.state == State.SENT and not FollowerTag.objects.exists()
    expire_leases()
    assert services.settle_writes()["done"] == 1
    write.refresh_from_db()
    assert (write.state, write.read_backs, write.applied) == (State.DONE, 2, 20)
    assert FollowerTag.objects.filter(tag_id=tag.wechat_id).count() == 20
    assert Tag.objects.get(pk=tag.pk).local_count == 20  # the sweeper refreshed the counts


def test_the_sweeper_settles_writes_whose_writer_died(account, wx, operator, synced):
    """A process killed after recording (the call never made) or after the call (WeChat did
    it, nobody recorded the answer): once the lease runs out the sweeper sends the first and
    reads back the second."""
    from accounts.wechat_api import client_for

    tag = services.create_tag(account=account, name="VIP", by=operator)
    operations.record(  # never sent
        account=account,
        action=WeChatWrite.Action.TAG,
        by=operator,
        openids=synced[:3],
        tag_wechat_id=tag.wechat_id,
    )
    called = operations.record(
        account=account, action=WeChatWrite.Action.BLACKLIST, by=operator, openids=synced[3:5]
    )
    WeChatWrite.objects.filter(pk=called.pk).update(state=State.SENT, attempts=1, sent_at=timezone.now())
    users_api.blacklist(client_for(account), synced[3:5])  # WeChat did it; then the worker died
    assert services.settle_writes() == {"sent": 0, "read_back": 0, "superseded": 0}  # leases still held
    expire_leases()
    counts = services.settle_writes()
    assert (counts["sent"], counts["read_back"], counts["done"]) == (1, 1, 2)
    tagged = {o for o, i in wx.state().info.items() if tag.wechat_id in i.get("tagid_list", [])}
    assert tagged == set(synced[:3])
    assert FollowerTag.objects.filter(tag_id=tag.wechat_id).count() == 3
    assert set(Follower.objects.filter(blacklisted=True).values_list("openid", flat=True)) == set(synced[3:5])
    assert services.settle_writes() == {"sent": 0, "read_back": 0, "superseded": 0}  # nothing twice


def test_a_pending_remark_superseded_by_a_newer_one_is_not_sent(account, wx, operator, synced):
    old = operations.record(
        account=account, action=WeChatWrite.Action.REMARK, by=operator, openids=[synced[0]], text="旧"
    )
    services.set_remark(follower=Follower.objects.get(openid=synced[0]), remark="新", by=operator)
    expire_leases()
    assert services.settle_writes()["superseded"] == 1
    old.refresh_from_db()
    assert old.state == State.FAILED and wx.state().info[synced[0]]["remark"] == "新"


def test_with_redis_down_nothing_is_sent_and_the_sweeper_sends_it_when_redis_is_back(
    account, wx, operator, synced, settings
):
    """The token store's Redis down: the call is certainly not made, staff read so, the
    writes stay pending (all batches), and are sent once Redis answers again."""
    tag = services.create_tag(account=account, name="VIP", by=operator)
    redis_url = settings.REDIS_URL
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    with pytest.raises(AudienceError) as caught:
        services.tag_followers(tag=tag, openids=synced, by=operator)
    assert caught.value.user_message.endswith(str(services.NOT_SENT_YET))
    states = list(WeChatWrite.objects.filter(action="tag").values_list("state", flat=True))
    assert states == [State.PENDING] * 2
    assert not any(tag.wechat_id in i.get("tagid_list", []) for i in wx.state().info.values())
    settings.REDIS_URL = redis_url
    expire_leases()
    assert services.settle_writes()["done"] == 2
    assert FollowerTag.objects.filter(tag_id=tag.wechat_id).count() == 60


def test_the_remark_form_with_wechat_unreachable_says_it_is_saved_not_refused(
    client, account, wx, operator, synced, settings
):
    """Not a refusal: the write is recorded and sent later; the form is not shown again as
    if the input were wrong."""
    from django.urls import reverse

    follower = Follower.objects.get(openid=synced[2])
    settings.WECHAT_API_BASE = "http://127.0.0.1:1"  # nothing listens: the call never leaves
    client.force_login(operator)
    answer = client.post(
        reverse("admin:audience_follower_remark", args=[follower.pk]), {"remark": "稍后"}, follow=True
    )
    assert answer.redirect_chain and answer.redirect_chain[-1][1] == 302
    assert str(services.NOT_SENT_YET) in [str(m) for m in answer.context["messages"]]
    write = WeChatWrite.objects.get(action=WeChatWrite.Action.REMARK)
    assert (write.state, write.text) == (State.PENDING, "稍后")
    assert Follower.objects.get(pk=follower.pk).remark == ""  # not done yet, and not said to be
