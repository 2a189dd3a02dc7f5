import datetime

import pytest

from accounts.tests.factories import OfficialAccountFactory, UserFactory


@pytest.fixture
def operator(db):
    return UserFactory(groups=["Operators"])


@pytest.fixture
def account(operator):
    return OfficialAccountFactory(assigned_staff=[operator], certified_until=datetime.date(2099, 1, 1))


@pytest.fixture
def wechat(sandbox, settings, redis_client, account):
    """The project pointed at the sandbox, with the account registered there."""
    settings.WECHAT_API_BASE = sandbox.base_url
    sandbox.register_app(
        account.appid,
        str(account.appsecret),
        wechat_id=account.wechat_id,
        original_id=account.original_id,
        token=str(account.server_token),
        encoding_aes_key=str(account.encoding_aes_key),
        message_mode=account.message_mode,
    )
    return sandbox
