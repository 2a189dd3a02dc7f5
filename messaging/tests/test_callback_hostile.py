"""Hostile and broken requests: right status, nothing stored, no traceback, still healthy."""

import time
from urllib.parse import urlencode

import pytest
import requests
from django.test import override_settings

from accounts.tests.factories import OfficialAccountFactory
from messaging.models import InboundMessage
from messaging.tests.factories import KeywordRuleFactory
from messaging.tests.pushes import build_push, open_reply, signed_query, text_xml

XXE = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh_x</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>"""

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<xml><ToUserName>gh_x</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&lol9;</Content><MsgId>1</MsgId></xml>"""


def post(client, account, query: str, body: bytes):
    return client.post(f"/wechat/{account.appid}/?{query}", data=body, content_type="text/xml")


def assert_still_healthy(client, account):
    """After a refusal the same process still answers a genuine push."""
    KeywordRuleFactory(account=account, pattern="在吗", reply_text="在的")
    query, body = build_push(account, text_xml(account, "在吗", msg_id=99))
    response = post(client, account, query, body)
    assert response.status_code == 200
    assert open_reply(account, response.content)["Content"] == "在的"


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["plaintext", "safe"])
def test_xxe_is_refused_with_400_and_nothing_stored(client, mode):
    account = OfficialAccountFactory(message_mode=mode)
    query, body = build_push(account, XXE)
    response = post(client, account, query, body)
    assert response.status_code == 400
    assert b"root:" not in response.content and b"Traceback" not in response.content
    assert not InboundMessage.objects.exists()
    assert_still_healthy(client, account)


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["plaintext", "safe"])
def test_billion_laughs_fails_fast_with_400(client, mode):
    account = OfficialAccountFactory(message_mode=mode)
    query, body = build_push(account, BILLION_LAUGHS)
    started = time.perf_counter()
    response = post(client, account, query, body)
    # expanding it would take seconds and gigabytes; refusing it takes microseconds
    assert time.perf_counter() - started < 1.0
    assert response.status_code == 400
    assert not InboundMessage.objects.exists()
    assert_still_healthy(client, account)


@pytest.mark.django_db(transaction=True)
def test_ten_megabyte_body_is_refused_with_413_over_http(live_server):
    account = OfficialAccountFactory(message_mode="plaintext")
    query = urlencode(signed_query(account))
    body = b"<xml><Content>" + b"A" * (10 * 1024 * 1024) + b"</Content></xml>"
    response = requests.post(f"{live_server.url}/wechat/{account.appid}/?{query}", data=body, timeout=30)
    assert response.status_code == 413
    assert not InboundMessage.objects.exists()


@pytest.mark.django_db
@override_settings(WECHAT_CALLBACK_MAX_BODY_BYTES=1024)
def test_body_cap_is_a_setting(client):
    account = OfficialAccountFactory(message_mode="plaintext")
    query, body = build_push(account, text_xml(account, "长" * 600))
    assert len(body) > 1024
    assert post(client, account, query, body).status_code == 413
    assert not InboundMessage.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["plaintext", "compatible", "safe"])
def test_wrong_signature_is_403_and_nothing_stored(client, mode):
    account = OfficialAccountFactory(message_mode=mode)
    query, body = build_push(account, text_xml(account, "你好"))
    query = query.replace("signature=", "signature=0", 1)
    response = post(client, account, query, body)
    assert response.status_code == 403
    assert not InboundMessage.objects.exists()


@pytest.mark.django_db
def test_wrong_msg_signature_is_403(client):
    account = OfficialAccountFactory(message_mode="safe")
    query, body = build_push(account, text_xml(account, "你好"))
    query = query.replace("msg_signature=", "msg_signature=f", 1)
    assert post(client, account, query, body).status_code == 403
    assert not InboundMessage.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("offset", [-301, 301])
def test_stale_or_future_timestamp_is_403(client, offset):
    account = OfficialAccountFactory(message_mode="plaintext")
    stamp = str(int(time.time()) + offset)
    query, body = build_push(account, text_xml(account, "你好"), timestamp=stamp)
    assert post(client, account, query, body).status_code == 403
    assert not InboundMessage.objects.exists()


@pytest.mark.django_db
@override_settings(WECHAT_CALLBACK_MAX_SKEW_SECONDS=1000)
def test_timestamp_window_is_a_setting(client):
    account = OfficialAccountFactory(message_mode="plaintext")
    stamp = str(int(time.time()) - 900)
    query, body = build_push(account, text_xml(account, "你好"), timestamp=stamp)
    assert post(client, account, query, body).status_code == 200


@pytest.mark.django_db
def test_wrong_appid_inside_the_ciphertext_is_403(client):
    account = OfficialAccountFactory(message_mode="safe")
    other = OfficialAccountFactory()
    query, body = build_push(account, text_xml(account, "你好"), appid=other.appid)
    response = post(client, account, query, body)
    assert response.status_code == 403
    assert not InboundMessage.objects.exists()
    assert_still_healthy(client, account)


@pytest.mark.django_db
def test_malformed_base64_is_400(client):
    account = OfficialAccountFactory(message_mode="safe")
    encrypt = "not*base64!!"
    body = (
        f"<xml><ToUserName><![CDATA[{account.original_id}]]></ToUserName>"
        f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    ).encode()
    query = urlencode(signed_query(account, encrypt=encrypt))
    response = post(client, account, query, body)
    assert response.status_code == 400
    assert not InboundMessage.objects.exists()
    assert_still_healthy(client, account)


@pytest.mark.django_db
def test_ciphertext_of_the_wrong_length_is_400(client):
    account = OfficialAccountFactory(message_mode="safe")
    encrypt = "QUJDREVGR0g="  # valid base64, 8 bytes: not an AES block
    body = f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()
    query = urlencode(signed_query(account, encrypt=encrypt))
    assert post(client, account, query, body).status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [b"", b"not xml", b"<html><body/></html>", b"<xml><MsgType>text</MsgType></xml>", b"<xml><a>1</b></xml>"],
)
def test_malformed_plain_bodies_are_400(client, body):
    account = OfficialAccountFactory(message_mode="plaintext")
    query = urlencode(signed_query(account))
    response = post(client, account, query, body)
    assert response.status_code == 400
    assert b"Traceback" not in response.content
    assert not InboundMessage.objects.exists()


@pytest.mark.django_db
def test_unknown_appid_is_404(client):
    account = OfficialAccountFactory.build(appid="wx" + "0" * 16, original_id="gh_000000000000")
    query, body = build_push(account, text_xml(account, "你好"), mode="plaintext")
    assert (
        client.post(f"/wechat/{account.appid}/?{query}", data=body, content_type="text/xml").status_code
        == 404
    )
    assert client.get("/wechat/not-an-appid/").status_code == 404
    assert not InboundMessage.objects.exists()


@pytest.mark.django_db
def test_a_push_signed_with_another_accounts_token_is_403(client):
    """Never serve one account's data on another's callback URL."""
    account = OfficialAccountFactory(message_mode="plaintext")
    other = OfficialAccountFactory(message_mode="plaintext")
    KeywordRuleFactory(account=other, pattern="你好", reply_text="other account secret")
    query, body = build_push(other, text_xml(other, "你好"))
    response = post(client, account, query, body)
    assert response.status_code == 403
    assert b"other account secret" not in response.content


@pytest.mark.django_db
def test_refusals_are_logged_without_credentials(client, caplog):
    account = OfficialAccountFactory(message_mode="safe")
    query, body = build_push(account, text_xml(account, "你好"))
    with caplog.at_level("DEBUG"):
        post(client, account, query.replace("msg_signature=", "msg_signature=0", 1), body)
        post(client, account, query, b"<!DOCTYPE x><xml/>")
    assert "refused" in caplog.text
    for secret in (account.server_token, account.encoding_aes_key, account.appsecret):
        assert str(secret) not in caplog.text
