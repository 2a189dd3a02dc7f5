"""Production logs: JSON lines with request id / task id and AppID; secrets never reach them."""

import io
import json
import logging
import time

import pytest
import requests

from accounts.models import OfficialAccount
from accounts.tests.factories import OfficialAccountFactory
from core.logs import JsonFormatter
from core.secrecy import Secret
from wechat.crypto import signature

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_log():
    """Production's formatter on the root logger; yields a function returning the parsed lines."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    plain = logging.Handler()  # keeps the records, to show what an unscrubbed log would say
    plain.records = []
    plain.emit = plain.records.append
    root = logging.getLogger()
    old_level = root.level
    root.setLevel(logging.INFO)
    root.addHandler(handler)
    root.addHandler(plain)

    def lines():
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    lines.raw = stream.getvalue
    lines.records = plain.records
    yield lines
    root.removeHandler(handler)
    root.removeHandler(plain)
    root.setLevel(old_level)


def test_a_secret_never_reaches_the_logs(json_log):
    account = OfficialAccount.objects.get(pk=OfficialAccountFactory().pk)  # decrypted from the row
    secret, aes_key = account.appsecret, account.encoding_aes_key
    assert isinstance(secret, Secret)
    token = "ACCESS_TOKEN_0123456789abcdefghijklmnopqrstuvwxyz"
    log = logging.getLogger("wechat.client")

    log.warning("credentials of %s: %s / %s", account.appid, secret, aes_key)  # Secret values
    try:  # a real requests error quotes the URL, with the secret in its query string
        requests.get(
            "http://127.0.0.1:1/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": account.appid, "secret": str(secret)},
            timeout=1,
        )
    except requests.ConnectionError:
        log.exception("token fetch failed")
    log.info("answer %s", json.dumps({"access_token": token, "expires_in": 7200}))
    log.info(
        "menu/create",
        extra={
            "access_token": token,
            "appsecret": str(secret),
            "url": f"https://api.weixin.qq.com/cgi-bin/menu/create?access_token={token}",
        },
    )

    raw = json_log.raw()
    for value in (str(secret), str(aes_key), token):
        assert value not in raw
    assert raw.count("[FILTERED]") >= 6
    assert len(json_log()) == 4 and account.appid in raw  # the AppID is not a secret
    assert "Max retries exceeded" in json_log()[1]["exc_info"]
    # the test can fail: unscrubbed, the same records carry the secrets
    unscrubbed = "".join(logging.Formatter("%(message)s").format(r) for r in json_log.records)
    assert str(secret) in unscrubbed


def test_request_lines_have_request_id_and_appid_and_no_query_string(client, json_log):
    account = OfficialAccountFactory(server_token="LogsServerToken0123456789abcdefg")
    stamp, nonce = str(int(time.time())), "n1"
    sig = signature("LogsServerToken0123456789abcdefg", stamp, nonce)
    response = client.get(
        f"/wechat/{account.appid}/",
        {"signature": sig, "timestamp": stamp, "nonce": nonce, "echostr": "e"},
        HTTP_X_REQUEST_ID="proxy-req-0001",
    )
    assert response["X-Request-ID"] == "proxy-req-0001"
    line = next(r for r in json_log() if r["logger"] == "wxadmin.request")
    assert line["request_id"] == "proxy-req-0001"
    assert line["appid"] == account.appid
    assert line["path"] == f"/wechat/{account.appid}/" and line["status"] == 200
    assert sig not in json_log.raw()

    # a malformed incoming id is replaced, not trusted
    other = client.get("/healthz-not/", HTTP_X_REQUEST_ID="bad id\nwith newline")
    assert other["X-Request-ID"] != "bad id\nwith newline" and len(other["X-Request-ID"]) == 32


def test_task_log_lines_carry_the_task_id(json_log, sandbox, settings, redis_client):
    from accounts.tasks import refresh_account_token

    settings.WECHAT_API_BASE = sandbox.base_url
    account = OfficialAccountFactory()
    sandbox.register_app(account.appid, str(account.appsecret))
    result = refresh_account_token.apply(args=[account.pk])
    fetched = next(r for r in json_log() if r["logger"] == "wechat.tokens")
    assert fetched["task_id"] == result.id
    assert fetched["task_name"] == "accounts.refresh_account_token"
    assert account.appid in fetched["message"]
