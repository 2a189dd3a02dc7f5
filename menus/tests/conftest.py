import datetime

import pytest

from accounts.tests.factories import OfficialAccountFactory, UserFactory


@pytest.fixture
def operator(db):
    return UserFactory(groups=["Operators"])


@pytest.fixture
def certified_account(operator):
    return OfficialAccountFactory(assigned_staff=[operator],
                                  certified_until=datetime.date(2099, 1, 1))


@pytest.fixture
def uncertified_account(operator):
    return OfficialAccountFactory(assigned_staff=[operator])


@pytest.fixture
def wechat(sandbox, settings, redis_client):
    """Point the project at the sandbox; `wechat(account)` registers the account there."""
    settings.WECHAT_API_BASE = sandbox.base_url
    settings.MENU_PUBLISH_RETRY_BASE_SECONDS = 0.01
    settings.MENU_PUBLISH_RATE_PER_SECOND = 0

    def register(account):
        sandbox.register_app(account.appid, str(account.appsecret),
                             certified=account.is_certified(), wechat_id=account.wechat_id,
                             original_id=account.original_id, token=str(account.server_token),
                             encoding_aes_key=str(account.encoding_aes_key),
                             message_mode=account.message_mode)
        return account

    register.sandbox = sandbox
    return register
