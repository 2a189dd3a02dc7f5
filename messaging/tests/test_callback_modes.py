"""The callback end to end over HTTP, in each message mode (docs/wechat-protocol.md §d, §e)."""

import datetime

import pytest
import requests
import time_machine

from accounts.tests.factories import OfficialAccountFactory
from messaging.models import InboundMessage, Route
from messaging.tests.factories import KeywordRuleFactory
from messaging.tests.pushes import build_push, flush_log, open_reply, text_xml

# The official URL-verification example (docs/wechat-protocol.md §d).
OFFICIAL = {
    "token": "AAAAA",
    "timestamp": "1714036504",
    "nonce": "1514711492",
    "echostr": "4375120948345356249",
    "signature": "f464b24fc39322e44b38aa78f5edd27bd1441696",
}


def callback_url(live_server, account) -> str:
    return f"{live_server.url}/wechat/{account.appid}/"


@pytest.mark.django_db(transaction=True)
def test_url_verification_echoes_echostr_with_the_official_example(live_server):
    account = OfficialAccountFactory(server_token=OFFICIAL["token"])
    moment = datetime.datetime.fromtimestamp(int(OFFICIAL["timestamp"]), tz=datetime.UTC)
    with time_machine.travel(moment, tick=False):
        response = requests.get(
            callback_url(live_server, account),
            params={key: OFFICIAL[key] for key in ("signature", "timestamp", "nonce", "echostr")},
            timeout=10,
        )
    assert response.status_code == 200
    assert response.text == OFFICIAL["echostr"]
    account.refresh_from_db()
    assert account.callback_verified_at == moment  # the hub says WeChat reached us (issue 29 §7)


@pytest.mark.django_db(transaction=True)
def test_url_verification_with_a_wrong_signature_is_403(live_server):
    account = OfficialAccountFactory(server_token=OFFICIAL["token"])
    moment = datetime.datetime.fromtimestamp(int(OFFICIAL["timestamp"]), tz=datetime.UTC)
    with time_machine.travel(moment, tick=False):
        response = requests.get(
            callback_url(live_server, account),
            params={
                **{key: OFFICIAL[key] for key in ("timestamp", "nonce", "echostr")},
                "signature": "0" * 40,
            },
            timeout=10,
        )
    assert response.status_code == 403
    assert OFFICIAL["echostr"] not in response.text
    account.refresh_from_db()
    assert account.callback_verified_at is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", ["plaintext", "compatible", "safe"])
def test_text_message_gets_the_keyword_reply_in_each_mode(live_server, mode):
    """Signed like the official example: token AAAAA, its timestamp and nonce."""
    account = OfficialAccountFactory(message_mode=mode, server_token=OFFICIAL["token"])
    KeywordRuleFactory(account=account, match_type="contains", pattern="价格", reply_text="价格表请见菜单")
    moment = datetime.datetime.fromtimestamp(int(OFFICIAL["timestamp"]), tz=datetime.UTC)
    with time_machine.travel(moment, tick=False):
        query, body = build_push(
            account,
            text_xml(account, "请问价格多少"),
            timestamp=OFFICIAL["timestamp"],
            nonce=OFFICIAL["nonce"],
        )
        assert f"signature={OFFICIAL['signature']}" in query
        response = requests.post(
            f"{callback_url(live_server, account)}?{query}",
            data=body,
            headers={"Content-Type": "text/xml"},
            timeout=10,
        )
    assert response.status_code == 200
    if mode == "plaintext":
        assert "<Encrypt>" not in response.text
    else:
        assert "<Encrypt>" in response.text and "价格表" not in response.text
    reply = open_reply(account, response.content)
    assert reply["MsgType"] == "text"
    assert reply["Content"] == "价格表请见菜单"
    assert reply["FromUserName"] == account.original_id
    flush_log()
    row = InboundMessage.objects.get(account=account)
    assert row.route == Route.KEYWORD
    assert row.content == "请问价格多少"
    assert row.reply_summary == "价格表请见菜单"


@pytest.mark.django_db(transaction=True)
def test_unmatched_message_answers_success(live_server):
    account = OfficialAccountFactory(message_mode="safe")
    query, body = build_push(account, text_xml(account, "随便说点什么"))
    response = requests.post(f"{callback_url(live_server, account)}?{query}", data=body, timeout=10)
    assert response.status_code == 200
    assert response.text == "success"
    flush_log()
    assert InboundMessage.objects.get(account=account).route == Route.NONE


@pytest.mark.django_db(transaction=True)
def test_compatible_mode_accepts_a_plain_push_and_answers_plain(live_server):
    account = OfficialAccountFactory(message_mode="compatible")
    KeywordRuleFactory(account=account, pattern="你好", reply_text="您好")
    query, body = build_push(account, text_xml(account, "你好"), mode="plaintext")
    response = requests.post(f"{callback_url(live_server, account)}?{query}", data=body, timeout=10)
    assert response.status_code == 200
    assert "<Encrypt>" not in response.text
    assert open_reply(account, response.content)["Content"] == "您好"


@pytest.mark.django_db(transaction=True)
def test_safe_mode_refuses_a_plain_push_and_stores_nothing(live_server):
    account = OfficialAccountFactory(message_mode="safe")
    query, body = build_push(account, text_xml(account, "你好"), mode="plaintext")
    response = requests.post(f"{callback_url(live_server, account)}?{query}", data=body, timeout=10)
    assert response.status_code == 400
    assert not InboundMessage.objects.exists()
