"""The conversation page shows the follower: remark (editable from there), tags by name,
subscription and first / last interaction (issue 24)."""

import datetime

from django.urls import reverse
from django.utils import timezone

from audience.models import Follower, FollowerTag, Tag


def test_the_conversation_shows_the_follower_and_its_remark_can_be_edited_from_there(
    client, operator, account, wx
):
    openid = "oConv0000000000001"
    wx.state().subscribe(openid, at=int(timezone.now().timestamp()))
    follower = Follower.objects.create(
        account=account,
        openid=openid,
        remark="老王",
        last_interaction_at=timezone.now() - datetime.timedelta(hours=1),
    )
    Tag.objects.create(account=account, wechat_id=101, name="VIP")
    FollowerTag.objects.create(follower=follower, account=account, tag_id=101)
    client.force_login(operator)
    url = reverse("admin:messaging_conversation", args=[account.pk, openid])
    page = client.get(url).content.decode()
    assert 'data-testid="conversation-panel"' in page
    assert "老王" in page and "VIP" in page
    edit = reverse("admin:audience_follower_remark", args=[follower.pk])
    assert edit in page
    saved = client.post(edit, {"remark": "王总", "next": url})
    assert saved.status_code == 302 and saved["Location"] == url
    assert "王总" in client.get(url).content.decode()
    assert wx.state().user_info(openid)["remark"] == "王总"
    # an outside "next" is not followed
    away = client.post(edit, {"remark": "王总", "next": "https://evil.example.com/"})
    assert away["Location"] == reverse("admin:audience_follower_changelist")


def test_an_unknown_user_gets_a_hint_not_an_error(client, operator, account, wx):
    client.force_login(operator)
    page = client.get(reverse("admin:messaging_conversation", args=[account.pk, "oNobody00000000001"]))
    assert page.status_code == 200 and 'data-testid="conversation-panel"' in page.content.decode()
