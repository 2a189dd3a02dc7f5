"""Tags, tagging, blacklist and QR codes: refusals in Chinese before any WeChat call (issue 24)."""

import pytest
from django.utils import translation

from audience import services
from audience.models import Follower, FollowerTag, QrCode, Tag
from audience.services import AudienceError


@pytest.fixture(autouse=True)
def chinese():
    with translation.override("zh-hans"):
        yield


@pytest.fixture
def synced(account, wx):
    wx.generate(120)
    services.run_sync(services.start_sync(account=account).pk)
    return [wx.state().openid_at(i) for i in range(120)]


def calls(wx, account):
    return sum(wx.sb.app(account.appid).calls.values())


def test_tag_name_over_30_bytes_is_refused_before_wechat(account, wx, operator):
    before = calls(wx, account)
    with pytest.raises(AudienceError) as caught:
        services.create_tag(account=account, name="标" * 11, by=operator)
    assert "30" in caught.value.user_message
    assert calls(wx, account) == before and not Tag.objects.exists()


def test_the_101st_tag_is_refused_before_wechat(account, wx, operator):
    for i in range(100):
        services.create_tag(account=account, name=f"t{i}", by=operator)
    before = calls(wx, account)
    with pytest.raises(AudienceError):
        services.create_tag(account=account, name="more", by=operator)
    assert calls(wx, account) == before


def test_tagging_in_batches_of_50_and_drift_is_flagged(account, wx, operator, synced):
    tag = services.create_tag(account=account, name="VIP", by=operator)
    assert services.tag_followers(tag=tag, openids=synced, by=operator) == 120
    assert Follower.objects.filter(tag_links__tag_id=tag.wechat_id).count() == 120
    assert Follower.objects.get(openid=synced[0]).tag_ids == [tag.wechat_id]
    services.tag_followers(tag=tag, openids=synced[:2], by=operator)  # again: no duplicate rows
    assert FollowerTag.objects.filter(tag_id=tag.wechat_id).count() == 120
    tags = {t.name: t for t in services.sync_tags(account=account)}
    assert (tags["VIP"].wechat_count, tags["VIP"].local_count, tags["VIP"].drifted) == (120, 120, False)
    wx.state().info[synced[0]]["tagid_list"].remove(tag.wechat_id)
    wx.state().tag_counts[tag.wechat_id] -= 1
    assert {t.name: t for t in services.sync_tags(account=account)}["VIP"].drifted


def test_a_21st_tag_on_a_follower_is_refused_before_wechat(account, wx, operator, synced):
    follower = Follower.objects.get(openid=synced[0])
    FollowerTag.objects.bulk_create(
        [FollowerTag(follower=follower, account=account, tag_id=t) for t in range(200, 220)]
    )
    tag = services.create_tag(account=account, name="one more", by=operator)
    before = calls(wx, account)
    with pytest.raises(AudienceError) as caught:
        services.tag_followers(tag=tag, openids=synced[:3], by=operator)
    assert "20" in caught.value.user_message and calls(wx, account) == before


def test_reserved_and_big_tags_cannot_be_deleted(account, wx, operator):
    star = Tag.objects.create(account=account, wechat_id=2, name="星标组")
    with pytest.raises(AudienceError):
        services.delete_tag(tag=star, by=operator)
    big = Tag.objects.create(account=account, wechat_id=150, name="big", wechat_count=100_001)
    with pytest.raises(AudienceError) as caught:
        services.delete_tag(tag=big, by=operator)
    assert "10 万" in caught.value.user_message


def test_blacklist_and_remark(account, wx, operator, synced):
    assert services.blacklist_followers(account=account, openids=synced[:25], by=operator) == 25
    assert list(wx.state().blacklist) == synced[:25]
    assert Follower.objects.filter(blacklisted=True).count() == 25
    follower = Follower.objects.get(openid=synced[1])
    services.set_remark(follower=follower, remark="老客户", by=operator)
    assert wx.state().info[synced[1]]["remark"] == "老客户"
    with pytest.raises(AudienceError):
        services.set_remark(follower=follower, remark="长" * 11, by=operator)


def test_qr_codes_scene_rules_and_png(account, wx, operator):
    with pytest.raises(AudienceError) as caught:
        services.create_qr_code(account=account, kind="permanent", scene="x" * 65, name="n", by=operator)
    assert "64" in caught.value.user_message
    code = services.create_qr_code(
        account=account, kind="temporary", scene="poster-A", name="海报A", expire_days=7, by=operator
    )
    assert code.ticket and code.expires_at and services.qr_png(code).startswith(b"\x89PNG")
    code.expires_at = code.created_at
    with pytest.raises(AudienceError):
        services.qr_png(code)
    other = Tag.objects.create(
        account=__import__("accounts.tests.factories", fromlist=["x"]).OfficialAccountFactory(),
        wechat_id=101,
        name="x",
    )
    with pytest.raises(AudienceError):
        services.create_qr_code(
            account=account, kind="permanent", scene="s", name="n", tag=other, by=operator
        )
    assert QrCode.objects.count() == 1
