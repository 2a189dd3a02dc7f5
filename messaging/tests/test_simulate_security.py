"""The simulate endpoint needs the messages' change permission, and the sandbox posts only to
the configured callback base, never where a Host header or a request body points (issue 9)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from accounts.tests.factories import OfficialAccountFactory, UserFactory
from messaging.tests.factories import KeywordRuleFactory
from wechat_sandbox.simulate import under_callback_base


class CaptureHandler(BaseHTTPRequestHandler):
    hits: list = []

    def do_POST(self):
        type(self).hits.append(self.path)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "7")
        self.end_headers()
        self.wfile.write(b"success")

    def log_message(self, *args):
        pass


@pytest.fixture
def capture():
    CaptureHandler.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), CaptureHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("url", "base", "ok"),
    [
        ("http://127.0.0.1:8000/wechat/wx1/", "http://127.0.0.1:8000", True),
        ("http://127.0.0.1:8000/wechat/wx1/", "http://127.0.0.1:8000/wechat/", True),
        ("http://127.0.0.1:8000/wechatx/", "http://127.0.0.1:8000/wechat", False),
        ("http://127.0.0.1:8001/wechat/wx1/", "http://127.0.0.1:8000", False),
        ("https://127.0.0.1:8000/wechat/wx1/", "http://127.0.0.1:8000", False),
        ("http://127.0.0.1:8000@evil.example/wechat/", "http://127.0.0.1:8000", False),
        ("http://evil.example/wechat/", "http://127.0.0.1:8000", False),
        ("http://127.0.0.1:8000/wechat/", None, False),
    ],
)
def test_under_callback_base(url, base, ok):
    assert under_callback_base(url, base) is ok


def test_sandbox_refuses_a_callback_url_outside_its_base_and_sends_nothing(sandbox, capture):
    sandbox.register_app("wx00000000000000aa", "s" * 32, token="tok123")
    sandbox.callback_base = "http://127.0.0.1:1"
    body = {"type": "text", "content": "hi", "callback_url": f"{capture}/steal"}
    response = requests.post(f"{sandbox.base_url}/sandbox/simulate/wx00000000000000aa", json=body, timeout=10)
    assert response.status_code == 400 and "callback base" in response.json()["errmsg"]
    assert CaptureHandler.hits == []
    sandbox.callback_base = capture  # the configured base itself is fine
    response = requests.post(f"{sandbox.base_url}/sandbox/simulate/wx00000000000000aa", json=body, timeout=10)
    assert response.status_code == 200
    assert len(CaptureHandler.hits) == 1 and CaptureHandler.hits[0].startswith("/steal?")


@pytest.mark.django_db
def test_simulate_needs_the_change_permission_on_messages(client, settings):
    settings.WECHAT_API_BASE = "http://127.0.0.1:1"
    finance = UserFactory(groups=["Finance"])  # sees the account, may not touch messages
    account = OfficialAccountFactory(assigned_staff=[finance])
    client.force_login(finance)
    response = client.post(
        f"/wechat/simulate/{account.pk}/",
        data={"type": "text", "content": "hi"},
        content_type="application/json",
    )
    assert response.status_code == 403


@pytest.mark.django_db(transaction=True)
def test_the_host_header_does_not_choose_where_the_push_goes(client, settings, sandbox, live_server, capture):
    settings.WECHAT_API_BASE = sandbox.base_url
    settings.WECHAT_SIMULATE_CALLBACK_BASE = ""
    sandbox.callback_base = live_server.url
    operator = UserFactory(groups=["Operators"])
    account = OfficialAccountFactory(message_mode="safe", assigned_staff=[operator])
    KeywordRuleFactory(account=account, pattern="你好", reply_text="您好")
    sandbox.register_app(
        account.appid,
        account.appsecret,
        token=account.server_token,
        encoding_aes_key=account.encoding_aes_key,
        message_mode="safe",
        callback_url=f"{live_server.url}/wechat/{account.appid}/",
        original_id=account.original_id,
    )
    client.force_login(operator)
    host = capture.removeprefix("http://")  # an allowed host name, on the attacker's port
    response = client.post(
        f"/wechat/simulate/{account.pk}/",
        HTTP_HOST=host,
        data=json.dumps({"type": "text", "content": "你好"}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["reply"] == {"type": "text", "content": "您好"}
    assert CaptureHandler.hits == []


@pytest.mark.django_db
@pytest.mark.parametrize("event", ["qualification_verify_success", "annual_renew", "naming_verify_success"])
def test_simulated_certification_events_need_the_orders_transition_permission(client, settings, event):
    """Issue 22 §3: an Operator (view-only on orders) cannot push WeChat's certification
    events through the "play a user" endpoint; an Administrator (who may move orders) can."""
    settings.WECHAT_API_BASE = "http://127.0.0.1:1"  # nothing listens: past the checks, 502
    operator = UserFactory(groups=["Operators"])
    administrator = UserFactory(groups=["Administrators"])
    account = OfficialAccountFactory(assigned_staff=[operator, administrator])
    body = {"type": event, "expired_time": 4102444800}
    client.force_login(operator)
    response = client.post(f"/wechat/simulate/{account.pk}/", data=body, content_type="application/json")
    assert response.status_code == 403
    text = client.post(
        f"/wechat/simulate/{account.pk}/",
        data={"type": "text", "content": "hi"},
        content_type="application/json",
    )
    assert text.status_code != 403  # user actions stay the Operator's
    client.force_login(administrator)
    response = client.post(f"/wechat/simulate/{account.pk}/", data=body, content_type="application/json")
    assert response.status_code != 403
