import datetime

import pytest

from accounts.tests.factories import OfficialAccountFactory, UserFactory

JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 200


@pytest.fixture
def operator(db):
    return UserFactory(groups=["Operators"])


@pytest.fixture
def account(operator):
    return OfficialAccountFactory(assigned_staff=[operator], certified_until=datetime.date(2099, 1, 1))


def register(sandbox, account):
    sandbox.register_app(
        account.appid,
        str(account.appsecret),
        wechat_id=account.wechat_id,
        original_id=account.original_id,
        token=str(account.server_token),
        encoding_aes_key=str(account.encoding_aes_key),
        message_mode=account.message_mode,
    )


@pytest.fixture
def wechat(sandbox, settings, redis_client, account):
    """The project pointed at the sandbox, with the account registered there."""
    settings.WECHAT_API_BASE = sandbox.base_url
    register(sandbox, account)
    return sandbox


@pytest.fixture
def cover(wechat, account, operator):
    from content.library import material_upload

    return material_upload(account=account, kind="thumb", filename="cover.jpg", data=JPEG, by=operator)


def article(cover, **extra):
    return {
        "title": "春季上新",
        "author": "小编",
        "content": "<p>正文</p>",
        "thumb_media_id": cover.media_id,
        **extra,
    }
