"""Fixtures of the mass-send tests (imported by each test module: content/tests/conftest.py is
shared with the drafts and library work)."""

import datetime

import pytest
import requests

from accounts.tests.factories import OfficialAccountFactory, UserFactory
from audience.models import Tag
from content.models import Draft
from wechat_sandbox.areas._audience import audience

MEDIA = "draft-media-mass-0001"
TAG = 100


@pytest.fixture
def operator(db):
    return UserFactory(groups=["Operators"])


@pytest.fixture
def approver(db):
    return UserFactory(groups=["Administrators"])


@pytest.fixture
def account(operator, approver):
    account = OfficialAccountFactory(
        assigned_staff=[operator, approver], certified_until=datetime.date(2099, 1, 1)
    )
    Tag.objects.create(account=account, wechat_id=TAG, name="VIP")
    return account


@pytest.fixture
def draft(account, operator):
    return Draft.objects.create(account=account, title="十二月活动", media_id=MEDIA, created_by=operator)


@pytest.fixture
def wx(sandbox, settings, account, redis_client):
    """The account in the sandbox with 20 followers (2 of them in tag 100) and the draft's media."""
    settings.WECHAT_API_BASE = sandbox.base_url
    sandbox.register_app(account.appid, str(account.appsecret), wechat_id=account.wechat_id)
    base = f"{sandbox.base_url}/sandbox"
    requests.post(f"{base}/users/{account.appid}/generate", json={"count": 20}, timeout=5)
    requests.post(f"{base}/mass/{account.appid}/media", json={"media_ids": [MEDIA]}, timeout=5)
    app = sandbox.app(account.appid)
    with sandbox._lock:
        a = audience(app)
        a.tags[TAG] = "VIP"
        for index in (0, 1):
            a.info.setdefault(a.openid_at(index), {})["tagid_list"] = [TAG]

    class Wx:
        sb = sandbox

        @staticmethod
        def sends():
            return sandbox.state(account.appid)["mass"]["sends"]

        @staticmethod
        def previews():
            return sandbox.state(account.appid)["mass"]["previews"]

        @staticmethod
        def set_month(all_sends):
            requests.post(f"{base}/mass/{account.appid}/month", json={"all_sends": all_sends}, timeout=5)

    return Wx
