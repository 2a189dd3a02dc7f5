""" "Send a template message" from the follower list and the conversation page (issue 26),
offered through accounts.admin_extensions.register_follower_link: neither audience nor
messaging imports notifications. Only staff with the send permission see it; the send page
it opens has the follower filled in and only that account's templates."""

from urllib.parse import parse_qs, urlparse

import pytest
from django.contrib.auth.models import Permission

from accounts.tests.factories import OfficialAccountFactory, UserFactory
from audience.models import Follower
from notifications.models import Template

OPENID = "oFollower00000000000000000001"
SEND_PAGE = "/admin/notifications/send/add/"


@pytest.fixture
def follower(account):
    return Follower.objects.create(account=account, openid=OPENID)


@pytest.fixture
def templates(account, operator):
    other = OfficialAccountFactory(assigned_staff=[operator])
    mine = Template.objects.create(account=account, template_id="tpl_a", title="订单发货通知", keywords=[])
    Template.objects.create(account=other, template_id="tpl_b", title="另一个公众号的模板", keywords=[])
    return mine


def link_on(page):
    text = page.content.decode()
    start = text.find(SEND_PAGE + "?")
    return None if start < 0 else text[start : text.index('"', start)].replace("&amp;", "&")


def test_the_follower_list_offers_the_send_page_for_each_follower(client, operator, follower, templates):
    client.force_login(operator)
    link = link_on(client.get("/admin/audience/follower/"))
    assert link is not None
    assert parse_qs(urlparse(link).query) == {"account": [str(follower.account_id)], "openid": [OPENID]}
    page = client.get(link)
    text = page.content.decode()
    assert page.status_code == 200
    assert f'value="{OPENID}"' in text
    assert "订单发货通知" in text and "另一个公众号的模板" not in text


def test_the_conversation_page_offers_it_too(client, operator, account, templates):
    client.force_login(operator)
    page = client.get(f"/admin/messaging/outboundmessage/conversations/{account.pk}/{OPENID}/")
    assert page.status_code == 200
    link = link_on(page)
    assert link is not None and parse_qs(urlparse(link).query)["openid"] == [OPENID]
    assert 'data-testid="follower-link"' in page.content.decode()


def test_staff_without_the_send_permission_are_not_offered_it(client, account, follower):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_follower", "view_outboundmessage"])
    )
    account.assigned_staff.add(viewer)
    client.force_login(viewer)
    followers = client.get("/admin/audience/follower/")
    assert followers.status_code == 200 and OPENID in followers.content.decode()
    assert link_on(followers) is None
    conversation = client.get(f"/admin/messaging/outboundmessage/conversations/{account.pk}/{OPENID}/")
    assert conversation.status_code == 200 and link_on(conversation) is None
