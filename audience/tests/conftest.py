import datetime

import pytest
import requests

from accounts.tests.factories import OfficialAccountFactory, UserFactory
from wechat_sandbox.areas._audience import audience


@pytest.fixture
def operator(db):
    return UserFactory(groups=["Operators"])


@pytest.fixture
def account(operator):
    return OfficialAccountFactory(assigned_staff=[operator], certified_until=datetime.date(2099, 1, 1))


@pytest.fixture
def wx(sandbox, settings, account, redis_client):
    """The account registered in the sandbox, the project pointed at it; ``wx.generate(n)``."""
    settings.WECHAT_API_BASE = sandbox.base_url
    sandbox.register_app(account.appid, str(account.appsecret), wechat_id=account.wechat_id)

    class Wx:
        sb = sandbox

        @staticmethod
        def generate(count):
            requests.post(
                f"{sandbox.base_url}/sandbox/users/{account.appid}/generate", json={"count": count}, timeout=5
            )

        @staticmethod
        def state():
            return audience(sandbox.app(account.appid))

    return Wx
