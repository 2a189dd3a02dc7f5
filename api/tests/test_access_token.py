"""GET /api/v1/accounts/{appid}/access-token (issue 27): the token store's token, never a fetch
per call; force only when WeChat confirms the current token is invalid; refusals audited."""

import datetime
import time

import pytest
from django.utils import timezone

from accounts.tests.factories import OfficialAccountFactory
from accounts.wechat_api import token_store
from api import services
from api.gate import forget_keys
from api.models import ApiCall, ApiKey


def token_path(account):
    return f"/accounts/{account.appid}/access-token"


@pytest.mark.django_db
def test_many_calls_cost_one_fetch_from_wechat(account, call, sandbox):
    answers = [call(token_path(account)).json() for _ in range(20)]
    assert {a["access_token"] for a in answers} == {answers[0]["access_token"]}
    assert 7000 < answers[0]["expires_in"] <= 7200
    assert answers[0]["source"] == "classic"
    assert sandbox.token_fetches(account.appid) == 1
    assert ApiCall.objects.filter(outcome="ok", endpoint="access-token", account=account).count() == 20


@pytest.mark.django_db
def test_force_keeps_a_token_wechat_still_accepts(account, call, sandbox):
    first = call(token_path(account)).json()["access_token"]
    again = call(token_path(account) + "?force=1", HTTP_X_REJECTED_TOKEN=first).json()["access_token"]
    assert again == first
    assert sandbox.token_fetches(account.appid) == 1


@pytest.mark.django_db
def test_force_refreshes_once_when_wechat_rejects_the_current_token(account, call, sandbox):
    first = call(token_path(account)).json()["access_token"]
    sandbox.expire_tokens(account.appid)
    second = call(token_path(account) + "?force=1", HTTP_X_REJECTED_TOKEN=first).json()["access_token"]
    assert second != first
    # a second system reporting the same old token gets the new one, without a new fetch
    third = call(token_path(account) + "?force=1", HTTP_X_REJECTED_TOKEN=first).json()["access_token"]
    assert third == second
    assert sandbox.token_fetches(account.appid) == 2


@pytest.mark.django_db
def test_40164_names_the_servers_outgoing_address(account, call, sandbox):
    sandbox.app(account.appid).ip_whitelist = ["10.9.9.9"]
    response = call(token_path(account))
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "wechat_ip_not_whitelisted"
    assert "127.0.0.1" in error["message"] and "127.0.0.1" in error["message_zh"]
    assert "白名单" in error["message_zh"]
    assert "Traceback" not in response.content.decode()


def refused(call, account, sandbox, *, status, code, **kwargs):
    response = call(token_path(account), **kwargs)
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message_zh"]
    assert sandbox.token_fetches(account.appid) == 0  # nothing fetched from WeChat
    return ApiCall.objects.latest("at")


@pytest.mark.django_db
def test_a_missing_or_malformed_key_is_401_and_audited(account, call, sandbox):
    assert (
        refused(call, account, sandbox, status=401, code="missing_key", key="").outcome == "unauthenticated"
    )
    row = refused(call, account, sandbox, status=401, code="invalid_key", key="wxk_0123456789ab_" + "x" * 43)
    assert row.appid == account.appid and row.key is None


@pytest.mark.django_db
def test_revoked_and_expired_keys_are_401(account, call, sandbox, client_key):
    client, _ = client_key
    client.expires_at = timezone.now() - datetime.timedelta(seconds=1)
    client.save()
    refused(call, account, sandbox, status=401, code="invalid_key")
    client.expires_at = None
    client.save()
    services.revoke_client(client=client, by=None)
    row = refused(call, account, sandbox, status=401, code="invalid_key")
    assert row.client == client and row.outcome == "unauthenticated"


@pytest.mark.django_db
def test_a_rotated_key_works_during_its_grace_period_only(account, call, sandbox, client_key):
    client, old = client_key
    new = services.rotate_key(client=client, by=None, grace=datetime.timedelta(hours=1))
    assert call(token_path(account), key=old).status_code == 200
    assert call(token_path(account), key=new).status_code == 200
    ApiKey.objects.filter(prefix=old.split("_")[1]).update(retires_at=timezone.now())
    forget_keys()  # an update() sends no signal
    assert call(token_path(account), key=old).status_code == 401
    assert call(token_path(account), key=new).status_code == 200


@pytest.mark.django_db
def test_another_account_is_403_and_an_unknown_appid_404(account, call, sandbox):
    other = OfficialAccountFactory()
    response = call(token_path(other))
    assert response.status_code == 403 and response.json()["error"]["code"] == "account_not_granted"
    assert ApiCall.objects.latest("at").outcome == "forbidden"
    response = call("/accounts/wx0000000000000000/access-token")
    assert response.status_code == 404 and response.json()["error"]["code"] == "unknown_account"


@pytest.mark.django_db
def test_an_address_outside_the_allow_list_is_403(account, call, sandbox, client_key):
    client, _ = client_key
    client.allowed_ips = "203.0.113.0/24\n"
    client.save()
    row = refused(call, account, sandbox, status=403, code="ip_not_allowed")
    assert row.ip == "127.0.0.1"
    assert call(token_path(account), REMOTE_ADDR="203.0.113.9").status_code == 200


@pytest.mark.django_db
def test_a_burst_past_the_rate_limit_is_429_with_retry_after(account, call, sandbox, client_key):
    client, _ = client_key
    client.rate_limit_per_minute = 3
    client.save()
    window = int(time.time() // 60)
    statuses = [call(token_path(account)).status_code for _ in range(3)]
    response = call(token_path(account))
    if int(time.time() // 60) != window:
        pytest.skip("the minute turned over during the burst")
    assert statuses == [200, 200, 200]
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 61
    assert ApiCall.objects.latest("at").outcome == "rate_limited"


@pytest.mark.django_db
def test_the_stable_token_source_is_served_too(account, call, sandbox):
    account.token_source = "stable"
    account.save()
    answer = call(token_path(account)).json()
    assert answer["source"] == "stable"
    assert token_store().cached(account.appid, source="stable").token == answer["access_token"]


@pytest.mark.django_db
def test_the_schema_and_docs_are_served(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/accounts/{appid}/access-token" in schema["paths"]
    assert client.get("/api/v1/docs").status_code == 200
