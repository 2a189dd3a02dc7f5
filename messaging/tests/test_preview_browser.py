"""In a real browser: clicking a click-button in the menu editor's phone preview shows the
reply the user would get, through the staff simulate endpoint, the sandbox's simulated
user and our callback in safe mode (R-MENU-02)."""

import datetime

import pytest
from django.utils import timezone

from accounts.tests.factories import OfficialAccountFactory, UserFactory
from messaging.models import InboundMessage, Route
from messaging.tests.pushes import flush_log


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_clicking_a_click_button_in_the_phone_preview_shows_the_reply_r_menu_02(
    page, live_server, admin_login, sandbox, settings
):
    from menus.models import ClickReply, Menu, MenuVersion

    settings.WECHAT_API_BASE = sandbox.base_url
    user = UserFactory(username="preview-operator", groups=["Operators"])
    account = OfficialAccountFactory(
        assigned_staff=[user], name="示例咖啡", message_mode="safe", certified_until=datetime.date(2099, 1, 1)
    )
    button = {"type": "click", "name": "今日推荐", "key": "TODAY", "reply": "今天推荐拿铁"}
    version = MenuVersion.objects.create(
        menu=Menu.objects.create(account=account),
        status="published",
        data={"button": [button]},
        finished_at=timezone.now(),
    )
    # What publishing writes for the callback: the reply of each click key.
    ClickReply.objects.create(
        account=account, key="TODAY", reply="今天推荐拿铁（来自服务器）", version=version
    )
    sandbox.register_app(
        account.appid,
        account.appsecret,
        token=account.server_token,
        encoding_aes_key=account.encoding_aes_key,
        message_mode="safe",
        original_id=account.original_id,
        wechat_id=account.wechat_id,
    )
    # The callback base is configured, never taken from the request's Host (issue 9).
    settings.WECHAT_SIMULATE_CALLBACK_BASE = sandbox.callback_base = live_server.url

    admin_login("preview-operator")
    page.goto(f"{live_server.url}/admin/menus/menu/account/{account.pk}/editor/")
    page.get_by_test_id("phone-preview").wait_for()
    page.get_by_test_id("preview-button-0").click()

    reply = page.get_by_test_id("reply-bubble").last
    reply.wait_for()
    assert reply.inner_text() == "今天推荐拿铁（来自服务器）"
    flush_log()
    row = InboundMessage.objects.get(account=account)
    assert (row.openid, row.event, row.content, row.route) == ("preview-user", "CLICK", "TODAY", Route.CLICK)
