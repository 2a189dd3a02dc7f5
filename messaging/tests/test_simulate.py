"""The simulated WeChat user (sandbox POST /sandbox/simulate/<appid>) and the staff endpoint."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from accounts.tests.factories import OfficialAccountFactory, UserFactory
from messaging.models import InboundMessage, Route
from messaging.tests.factories import KeywordRuleFactory, WelcomeReplyFactory
from messaging.tests.pushes import flush_log


def register(sandbox, account, live_server):
    sandbox.register_app(
        account.appid,
        account.appsecret,
        token=account.server_token,
        encoding_aes_key=account.encoding_aes_key,
        message_mode=account.message_mode,
        callback_url=f"{live_server.url}/wechat/{account.appid}/",
        original_id=account.original_id,
        wechat_id=account.wechat_id,
    )


def simulate(sandbox, appid, **body):
    return requests.post(f"{sandbox.base_url}/sandbox/simulate/{appid}", json=body, timeout=30)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", ["plaintext", "compatible", "safe"])
def test_sandbox_delivers_a_text_message_and_returns_the_decrypted_reply(sandbox, live_server, mode):
    account = OfficialAccountFactory(message_mode=mode)
    KeywordRuleFactory(account=account, pattern="你好", reply_text="您好，我是客服小助手")
    register(sandbox, account, live_server)
    response = simulate(sandbox, account.appid, type="text", content="你好", openid="o_sim")
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["reply"] == {"type": "text", "content": "您好，我是客服小助手"}
    assert data["attempts"] == 1 and data["elapsed_ms"] > 0
    flush_log()
    row = InboundMessage.objects.get(account=account)
    assert (row.openid, row.route) == ("o_sim", Route.KEYWORD)


@pytest.mark.django_db(transaction=True)
def test_sandbox_subscribe_and_unmatched_messages(sandbox, live_server):
    account = OfficialAccountFactory(message_mode="safe")
    WelcomeReplyFactory(account=account, reply_text="欢迎关注")
    register(sandbox, account, live_server)
    assert simulate(sandbox, account.appid, type="subscribe").json()["reply"] == {
        "type": "text",
        "content": "欢迎关注",
    }
    assert simulate(sandbox, account.appid, type="text", content="???").json()["reply"] is None
    assert simulate(sandbox, account.appid, type="view", url="https://e.com").json()["reply"] is None
    flush_log()
    assert InboundMessage.objects.filter(account=account).count() == 3


def test_sandbox_simulate_unknown_appid_is_404(sandbox):
    assert simulate(sandbox, "wx0000000000000000", type="text", content="x").status_code == 404


class SlowOnceHandler(BaseHTTPRequestHandler):
    calls = 0

    def do_POST(self):
        type(self).calls += 1
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if type(self).calls == 1:
            time.sleep(0.6)  # longer than the sandbox waits
        body = b"success"
        try:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass

    def log_message(self, *args):
        pass


def test_sandbox_retries_like_wechat_when_the_callback_is_too_slow(sandbox):
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowOnceHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        sandbox.callback_timeout = 0.3
        sandbox.register_app(
            "wx00000000000000aa",
            "s" * 32,
            token="tok123",
            callback_url=f"http://127.0.0.1:{server.server_address[1]}/cb",
        )
        data = simulate(sandbox, "wx00000000000000aa", type="text", content="hi").json()
        assert data["attempts"] == 2
        assert data["reply"] is None
        assert SlowOnceHandler.calls == 2
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.django_db(transaction=True)
def test_staff_simulate_endpoint_returns_the_click_reply(sandbox, live_server, settings):
    """R-MENU-02 through the staff endpoint the phone preview calls."""
    from menus.models import ClickReply, Menu, MenuVersion

    settings.WECHAT_API_BASE = sandbox.base_url
    user = UserFactory(groups=["Operators"])
    account = OfficialAccountFactory(message_mode="safe", assigned_staff=[user])
    version = MenuVersion.objects.create(
        menu=Menu.objects.create(account=account), status="published", data={"button": []}
    )
    ClickReply.objects.create(account=account, key="PRICE", reply="今日特价", version=version)
    register(sandbox, account, live_server)
    session = requests.Session()
    login(session, live_server, user)
    response = session.post(
        f"{live_server.url}/wechat/simulate/{account.pk}/",
        data=json.dumps({"type": "click", "key": "PRICE", "openid": "preview-user"}),
        headers={"Content-Type": "application/json", "X-CSRFToken": session.cookies["csrftoken"]},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["reply"] == {"type": "text", "content": "今日特价"}
    assert isinstance(data["elapsed_ms"], (int, float))


def login(session, live_server, user):
    page = session.get(f"{live_server.url}/admin/login/", timeout=10)
    assert page.status_code == 200
    response = session.post(
        f"{live_server.url}/admin/login/",
        data={
            "username": user.username,
            "password": "pw-for-tests-123",
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
            "next": "/admin/",
        },
        timeout=10,
    )
    assert "sessionid" in session.cookies, response.text[:500]


@pytest.mark.django_db
def test_simulate_endpoint_answers_409_when_the_api_is_not_a_local_sandbox(client, settings):
    settings.WECHAT_API_BASE = "https://api.weixin.qq.com"
    user = UserFactory(groups=["Operators"])
    account = OfficialAccountFactory(assigned_staff=[user])
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.post(
        f"/wechat/simulate/{account.pk}/",
        data={"type": "text", "content": "hi"},
        content_type="application/json",
    )
    assert response.status_code == 409
    assert "sandbox" in response.json()["error"]


@pytest.mark.django_db
def test_simulate_endpoint_refuses_accounts_not_assigned_to_the_user(client, settings):
    settings.WECHAT_API_BASE = "http://127.0.0.1:1"
    user = UserFactory(groups=["Operators"])
    account = OfficialAccountFactory()
    client.force_login(user)
    response = client.post(
        f"/wechat/simulate/{account.pk}/",
        data={"type": "text", "content": "hi"},
        content_type="application/json",
    )
    assert response.status_code == 403


@pytest.mark.django_db
def test_simulate_endpoint_needs_a_staff_login(client):
    account = OfficialAccountFactory()
    response = client.post(f"/wechat/simulate/{account.pk}/", data={}, content_type="application/json")
    assert response.status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "needle"),
    [({"type": "dance"}, "type"), ({"type": "click"}, "key"), ({"type": "text"}, "content")],
)
def test_simulate_endpoint_explains_bad_input(client, settings, body, needle):
    settings.WECHAT_API_BASE = "http://127.0.0.1:1"
    user = UserFactory(groups=["Operators"])
    account = OfficialAccountFactory(assigned_staff=[user])
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.post(f"/wechat/simulate/{account.pk}/", data=body, content_type="application/json")
    assert response.status_code == 400
    assert needle in response.json()["error"]
