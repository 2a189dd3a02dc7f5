"""An account registered in the sandbox, a client system with a key for it, and a caller."""

import pytest

from accounts.tests.factories import OfficialAccountFactory
from api import audit, services
from api.models import JsDomain


@pytest.fixture
def account(db, sandbox, settings, redis_client):
    settings.WECHAT_API_BASE = sandbox.base_url
    account = OfficialAccountFactory()
    sandbox.register_app(account.appid, account.appsecret, wechat_id=account.wechat_id)
    JsDomain.objects.create(account=account, domain="m.example.com")
    return account


@pytest.fixture
def client_key(account):
    client, key = services.register_client(
        name="小程序后台", accounts=[account], by=None, rate_limit_per_minute=1000
    )
    return client, key


@pytest.fixture
def call(client, client_key):
    """`call(path, key=…, method=…, data=…, flush=…, **extra)` → response (audit rows flushed)."""

    def do(path, *, key=None, method="get", data=None, flush=True, **extra):
        headers = {} if key == "" else {"HTTP_AUTHORIZATION": f"Bearer {key or client_key[1]}"}
        if method == "post":
            response = client.post(
                f"/api/v1{path}", data=data or {}, content_type="application/json", **headers, **extra
            )
        else:
            response = client.get(f"/api/v1{path}", **headers, **extra)
        if flush:
            audit.flush()  # the audit rows are written behind (api/audit.py)
        return response

    return do
