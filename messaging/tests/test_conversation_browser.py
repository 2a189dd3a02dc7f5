"""In a real browser: a simulated WeChat user writes, the open conversation shows it by
itself, an agent answers, and the answer arrives in the sandbox through a Celery worker
and message/custom/send (docs/wechat-protocol.md §c)."""

import datetime

import pytest
import requests

from accounts.tests.factories import OfficialAccountFactory, UserFactory
from messaging.conversations.models import OutboundMessage, OutboundStatus
from messaging.tests.factories import KfAccountFactory

OPENID = "oBrowserUser000000000001"


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_user_writes_an_agent_answers_and_the_answer_reaches_wechat(
    page, live_server, admin_login, sandbox, settings, celery_worker_thread
):
    settings.WECHAT_API_BASE = sandbox.base_url
    agent = UserFactory(username="cs-agent", groups=["Operators"])
    account = OfficialAccountFactory(
        assigned_staff=[agent],
        name="示例咖啡",
        message_mode="safe",
        kf_enabled=True,
        certified_until=datetime.date(2099, 1, 1),
    )
    kf = KfAccountFactory(account=account, kf_account=f"amy@{account.wechat_id}")
    callback = f"{live_server.url}/wechat/{account.appid}/"
    sandbox.register_app(
        account.appid,
        account.appsecret,
        token=account.server_token,
        encoding_aes_key=account.encoding_aes_key,
        message_mode="safe",
        original_id=account.original_id,
        wechat_id=account.wechat_id,
        callback_url=callback,
    )
    sandbox.app(account.appid).kf_accounts[kf.kf_account] = {"kf_account": kf.kf_account}

    admin_login("cs-agent")
    page.goto(f"{live_server.url}/admin/messaging/outboundmessage/conversations/{account.pk}/{OPENID}/")
    workspace = page.get_by_test_id("conversation-workspace")
    workspace.wait_for()
    assert workspace.get_attribute("data-window-open") == "0"  # nobody wrote yet

    # The user writes on the phone (the sandbox plays WeChat and calls our callback).
    pushed = requests.post(
        f"{sandbox.base_url}/sandbox/simulate/{account.appid}",
        json={"openid": OPENID, "type": "text", "content": "咖啡还有货吗？"},
        timeout=30,
    )
    assert pushed.status_code == 200, pushed.text
    from messaging.tests.pushes import flush_log

    flush_log()  # what a web process's flusher thread does within a second (issue 13)
    incoming = page.get_by_test_id("msg-in").last
    incoming.wait_for()  # appears by itself, no reload
    assert "咖啡还有货吗？" in incoming.inner_text()
    page.wait_for_function("document.getElementById('conversation').getAttribute('data-window-open') === '1'")
    assert "48" in page.get_by_test_id("window").inner_text()

    page.get_by_test_id("reply-text").fill("有的，欢迎到店！")
    page.get_by_test_id("reply-send").click()
    page.wait_for_selector("[data-testid=msg-out][data-status=sent]")
    # "queued, sent shortly" does not stay under a reply WeChat has (issue 29 §5)
    page.wait_for_function("document.getElementById('cv-status').textContent === ''")

    from menus.tests.test_editor_browser import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "conversation.png"), full_page=True)
    sent = sandbox.state(account.appid)["sent_messages"]
    assert [(m["touser"], m["msgtype"], m["text"]["content"], m["kf_account"]) for m in sent] == [
        (OPENID, "text", "有的，欢迎到店！", kf.kf_account)
    ]
    row = OutboundMessage.objects.get(account=account, openid=OPENID)
    assert (row.status, row.created_by, row.kf_account) == (OutboundStatus.SENT, agent, kf.kf_account)
