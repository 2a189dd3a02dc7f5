"""POST /api/v1/accounts/{appid}/jssdk-config (issue 27): WeChat's signature for pages on the
account's JS-SDK domains, one ticket fetch per expiry; bad URLs refused before any fetch."""

import pytest

from api.models import ApiCall
from wechat.api import jssdk
from wechat_sandbox.areas.jssdk import current_ticket, ticket_fetches

PAGE = "https://m.example.com/shop/item?id=7&from=menu"


@pytest.mark.django_db
def test_the_config_is_signed_with_the_current_ticket(account, call, sandbox):
    configs = [
        call(f"/accounts/{account.appid}/jssdk-config", method="post", data={"url": PAGE}).json()
        for _ in range(5)
    ]
    ticket = current_ticket(sandbox, account.appid)
    for config in configs:
        assert config["appId"] == account.appid
        assert config["signature"] == jssdk.signature(
            ticket=ticket, noncestr=config["nonceStr"], timestamp=config["timestamp"], url=PAGE
        )
    assert ticket_fetches(sandbox, account.appid) == 1


@pytest.mark.parametrize(
    ("url", "status", "code"),
    [
        (PAGE + "#/cart", 400, "url_has_fragment"),
        ("https://evil.example.net/x", 403, "domain_not_registered"),
        ("https://m.example.com.evil.net/x", 403, "domain_not_registered"),
        ("javascript:alert(1)", 400, "invalid_url"),
    ],
)
@pytest.mark.django_db
def test_bad_urls_are_refused_without_a_fetch(account, call, sandbox, url, status, code):
    response = call(f"/accounts/{account.appid}/jssdk-config", method="post", data={"url": url})
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert ticket_fetches(sandbox, account.appid) == 0
    assert ApiCall.objects.latest("at").error_code == code


@pytest.mark.django_db
def test_a_missing_url_or_a_large_body_is_refused(account, call, sandbox):
    response = call(f"/accounts/{account.appid}/jssdk-config", method="post", data={})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_request"
    response = call(
        f"/accounts/{account.appid}/jssdk-config", method="post", data={"url": PAGE + "?" + "a" * 20_000}
    )
    assert response.status_code == 413 and response.json()["error"]["code"] == "body_too_large"
    assert ticket_fetches(sandbox, account.appid) == 0
