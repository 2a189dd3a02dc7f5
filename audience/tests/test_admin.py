"""The follower pages: blacklisting asks first, the remark form, scoped filters (issue 24)."""

import datetime

import pytest
from django.urls import reverse

from accounts.tests.factories import OfficialAccountFactory
from audience import services
from audience.models import Follower, QrCode


@pytest.fixture
def synced(account, wx):
    wx.generate(30)
    services.run_sync(services.start_sync(account=account).pk)
    return list(Follower.objects.filter(account=account).order_by("pk"))


def test_blacklisting_asks_first_then_blacklists(client, operator, account, wx, synced):
    client.force_login(operator)
    url = reverse("admin:audience_follower_changelist")
    chosen = [str(f.pk) for f in synced[:3]]
    asked = client.post(url, {"action": "blacklist_selected", "_selected_action": chosen})
    assert asked.status_code == 200 and b'name="confirm" value="yes"' in asked.content
    assert not Follower.objects.filter(blacklisted=True).exists()  # nothing yet
    assert not wx.state().blacklist
    done = client.post(url, {"action": "blacklist_selected", "_selected_action": chosen, "confirm": "yes"})
    assert done.status_code == 302
    assert set(Follower.objects.filter(blacklisted=True).values_list("pk", flat=True)) == {
        f.pk for f in synced[:3]
    }
    assert set(wx.state().blacklist) == {f.openid for f in synced[:3]}


def test_the_remark_form_sets_it_in_wechat_and_refuses_too_long(client, operator, account, wx, synced):
    client.force_login(operator)
    follower = synced[0]
    url = reverse("admin:audience_follower_remark", args=[follower.pk])
    assert client.get(url).status_code == 200
    too_long = client.post(url, {"remark": "备" * 11})  # 33 bytes
    assert too_long.status_code == 200 and "30" in too_long.content.decode()
    follower.refresh_from_db()
    assert follower.remark == ""
    assert client.post(url, {"remark": "老客户"}).status_code == 302
    follower.refresh_from_db()
    assert follower.remark == "老客户"
    assert wx.state().user_info(follower.openid)["remark"] == "老客户"


def test_filters_name_only_the_users_accounts_and_codes(client, operator, account, wx, synced):
    other = OfficialAccountFactory(certified_until=datetime.date(2099, 1, 1), name="别家公众号")
    QrCode.objects.create(account=other, scene="x", name="别家二维码")
    client.force_login(operator)
    page = client.get(reverse("admin:audience_follower_changelist")).content.decode()
    assert "别家公众号" not in page and "别家二维码" not in page
    foreign = Follower.objects.create(account=other, openid="oForeign0000000001")
    assert client.get(reverse("admin:audience_follower_remark", args=[foreign.pk])).status_code in (403, 404)


def test_the_list_filters_by_tag_searches_remarks_and_openids_and_is_not_counted(
    client, operator, account, wx, synced
):
    from audience.models import FollowerTag, Tag

    vip = Tag.objects.create(account=account, wechat_id=101, name="VIP")
    FollowerTag.objects.create(follower=synced[4], account=account, tag_id=101)
    Follower.objects.filter(pk=synced[7].pk).update(remark="老客户张")
    client.force_login(operator)
    url = reverse("admin:audience_follower_changelist")

    def shown(query):
        response = client.get(url, query)
        assert response.status_code == 200
        return {f.pk for f in response.context["cl"].result_list}

    assert shown({"tag": vip.pk}) == {synced[4].pk}
    assert shown({"q": "客户"}) == {synced[7].pk}
    assert shown({"q": synced[9].openid}) == {synced[9].pk}
    assert shown({"tag": 999999}) == set()  # an unknown tag shows nothing, not everyone
    assert shown({"subscribe_scene": "ADD_SCENE_SEARCH"}) == {f.pk for f in synced}
    response = client.get(url)
    assert response.context["cl"].paginator.count > 10**9  # never a COUNT(*) per page view


def test_each_row_checkbox_carries_its_followers_pk_and_headers_are_computed_once(
    client, operator, account, wx, synced, monkeypatch
):
    """The row checkbox is rendered once and each row's pk put in; the column headers are
    computed once per page, not once per row (issue 24: the list's CPU at 1,000,000)."""
    from unfold.templatetags import unfold_list

    from audience import admin as audience_admin

    calls = []
    unfold_own = unfold_list.result_headers.original

    def counting(cl):
        calls.append(cl)
        return unfold_own(cl)

    monkeypatch.setattr(unfold_list.result_headers, "original", counting)
    client.force_login(operator)
    page = client.get(reverse("admin:audience_follower_changelist")).content.decode()
    for follower in synced:
        assert f'name="_selected_action" value="{follower.pk}"' in page
    assert page.count('name="_selected_action"') == len(synced)
    assert audience_admin._PK_SLOT not in page
    assert len(calls) == 1  # unfold asks once per row (30) plus once for the header row
