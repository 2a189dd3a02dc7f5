import datetime

import pytest
import requests

from accounts.tests.factories import OfficialAccountFactory, UserFactory

BEIJING = datetime.timezone(datetime.timedelta(hours=8))
#: 2026-12-07 09:00 Beijing: WeChat has finished 2026-12-06
NOW = datetime.datetime(2026, 12, 7, 9, 0, tzinfo=BEIJING)


@pytest.fixture
def operator(db):
    return UserFactory(groups=["Operators"])


@pytest.fixture
def account(operator):
    return OfficialAccountFactory(assigned_staff=[operator], certified_until=datetime.date(2099, 1, 1))


@pytest.fixture
def wx(sandbox, settings, account, redis_client):
    """The account in the sandbox (its clock at NOW), the project pointed at it; one attempt
    per call (no backoff sleeps). ``wx.control(...)`` posts to the datacube helper."""
    settings.WECHAT_API_BASE = sandbox.base_url
    settings.WECHAT_HTTP_MAX_ATTEMPTS = 1
    sandbox.clock = NOW.timestamp
    sandbox.register_app(account.appid, str(account.appsecret), wechat_id=account.wechat_id)

    class Wx:
        sb = sandbox

        @staticmethod
        def control(**body):
            answer = requests.post(
                f"{sandbox.base_url}/sandbox/datacube/{account.appid}", json=body, timeout=5
            )
            assert answer.json()["errcode"] == 0

        @staticmethod
        def calls(api=None):
            calls = sandbox.state(account.appid)["calls"]
            if api:
                return calls.get(f"/datacube/{api}", 0)
            return sum(n for path, n in calls.items() if path.startswith("/datacube/"))

    return Wx
