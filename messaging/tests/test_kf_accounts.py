"""Customer-service accounts (R-KF-01, R-KF-02) through the services and the sandbox API."""

import datetime
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.tests.factories import OfficialAccountFactory
from messaging.kf import operations, services
from messaging.models import (
    KfAccount,
    KfAccountStatus,
    KfOperation,
    KfOperationStatus,
    KfWaitCase,
)
from messaging.tests.factories import KfAccountFactory
from wechat.api import customer_service
from wechat.client import WeChatClient
from wechat.tokens import TokenStore

CERTIFIED = datetime.date(2099, 1, 1)


def kf_enabled_account(**extra):
    return OfficialAccountFactory(kf_enabled=True, certified_until=CERTIFIED, wechat_id="demo_shop", **extra)


@pytest.fixture
def wx(sandbox, redis_client):
    """(account, client): an account known to the sandbox and a real API client for it."""
    account = kf_enabled_account()
    sandbox.register_app(
        account.appid, account.appsecret, wechat_id=account.wechat_id, original_id=account.original_id
    )
    store = TokenStore(redis_client, base_url=sandbox.base_url)
    client = WeChatClient(account.appid, account.appsecret, base_url=sandbox.base_url, token_store=store)
    return account, client


def run(operation, client):
    return operations.kf_operation_execute(operation_id=operation.pk, client=client)


@pytest.mark.django_db
def test_r_kf_01_uncertified_or_subscription_accounts_cannot_enable_the_plugin():
    """R-KF-01, with a clear message on the field."""
    for account in (
        OfficialAccountFactory.build(kf_enabled=True, certified_until=None),
        OfficialAccountFactory.build(kf_enabled=True, certified_until=CERTIFIED, account_type="subscription"),
    ):
        with pytest.raises(ValidationError) as exc:
            account.clean()
        assert "certified service accounts" in str(exc.value.message_dict["kf_enabled"])


@pytest.mark.django_db
@pytest.mark.parametrize("prefix", ["", "a" * 11, "has space", "bad-dash", "中文", "a@b"])
def test_r_kf_02_prefix_must_be_1_to_10_letters_digits_underscores(prefix):
    account = kf_enabled_account()
    with pytest.raises(services.KfError) as exc:
        services.kf_account_add(account=account, prefix=prefix, nickname="客服")
    assert "prefix" in exc.value.message_dict
    assert not KfAccount.objects.exists()


@pytest.mark.django_db
def test_r_kf_02_name_is_prefix_at_the_accounts_wechat_id():
    account = kf_enabled_account()
    operation = services.kf_account_add(account=account, prefix="a_01", nickname="小王")
    assert operation.kf_account == "a_01@demo_shop"
    assert KfAccount.objects.get().status == KfAccountStatus.PENDING


@pytest.mark.django_db
def test_r_kf_02_account_without_wechat_id_cannot_have_kf_accounts():
    account = OfficialAccountFactory(kf_enabled=True, certified_until=CERTIFIED, wechat_id="")
    with pytest.raises(services.KfError) as exc:
        services.kf_account_add(account=account, prefix="a1", nickname="小王")
    assert "WeChat ID" in str(exc.value)


@pytest.mark.django_db
def test_kf_accounts_need_the_plugin_enabled():
    account = OfficialAccountFactory(kf_enabled=False, wechat_id="demo_shop")
    with pytest.raises(services.KfError) as exc:
        services.kf_account_add(account=account, prefix="a1", nickname="小王")
    assert "account" in exc.value.message_dict


@pytest.mark.django_db
def test_r_kf_02_at_most_100_accounts():
    account = kf_enabled_account()
    KfAccount.objects.bulk_create(
        [KfAccount(account=account, kf_account=f"k{i}@demo_shop", nickname=f"k{i}") for i in range(100)]
    )
    with pytest.raises(services.KfError) as exc:
        services.kf_account_add(account=account, prefix="k100", nickname="one more")
    assert "100" in str(exc.value)


@pytest.mark.django_db
def test_duplicate_kf_account_and_long_nickname_are_refused():
    account = kf_enabled_account()
    KfAccountFactory(account=account, kf_account="a1@demo_shop")
    with pytest.raises(services.KfError):
        services.kf_account_add(account=account, prefix="A1", nickname="x")
    with pytest.raises(services.KfError) as exc:
        services.kf_account_add(account=account, prefix="a2", nickname="n" * 17)
    assert "nickname" in exc.value.message_dict


@pytest.mark.django_db
def test_add_update_avatar_delete_through_the_sandbox_api(wx, sandbox, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    account, client = wx
    operation = run(services.kf_account_add(account=account, prefix="amy", nickname="艾米"), client)
    assert operation.status == KfOperationStatus.SUCCEEDED
    kf = KfAccount.objects.get(account=account)
    assert kf.status == KfAccountStatus.ACTIVE
    assert [k["kf_account"] for k in customer_service.list_accounts(client)] == ["amy@demo_shop"]

    run(services.kf_account_update(kf=kf, nickname="艾米2"), client)
    kf.refresh_from_db()
    assert kf.nickname == "艾米2"
    assert customer_service.list_accounts(client)[0]["kf_nick"] == "艾米2"

    avatar = SimpleUploadedFile("face.jpg", b"\xff\xd8\xff\xe0" + b"0" * 200, content_type="image/jpeg")
    operation = run(services.kf_account_upload_avatar(kf=kf, upload=avatar), client)
    assert operation.status == KfOperationStatus.SUCCEEDED, operation.explanation
    assert customer_service.list_accounts(client)[0]["kf_headimgurl"]

    run(services.kf_account_delete(kf=kf), client)
    assert not KfAccount.objects.filter(account=account).exists()
    assert customer_service.list_accounts(client) == []


@pytest.mark.django_db
def test_654xx_errors_are_recorded_with_an_explanation(wx):
    account, client = wx
    customer_service.add_account(client, "amy@demo_shop", "elsewhere")  # added outside wxadmin
    operation = run(services.kf_account_add(account=account, prefix="amy", nickname="艾米"), client)
    assert operation.status == KfOperationStatus.FAILED
    assert operation.errcode == 65406
    from wechat.errors import explain

    assert operation.explanation == explain(65406)  # said in words, not just a code
    kf = KfAccount.objects.get(account=account)
    assert kf.status == KfAccountStatus.FAILED and "65406" in kf.last_error


@pytest.mark.django_db
def test_an_operation_runs_once_even_if_the_task_is_delivered_twice(wx):
    account, client = wx
    operation = services.kf_account_add(account=account, prefix="bob", nickname="鲍勃")
    run(operation, client)
    again = run(operation, client)  # a second delivery: no second call, no 65406
    assert again.status == KfOperationStatus.SUCCEEDED
    assert KfOperation.objects.get(pk=operation.pk).attempts == 1


@pytest.mark.django_db
def test_sync_brings_team_online_status_and_waiting_queue(wx, sandbox):
    account, client = wx
    customer_service.add_account(client, "amy@demo_shop", "艾米")
    customer_service.add_account(client, "bob@demo_shop", "鲍勃")
    sandbox.set_kf_online(account.appid, "amy@demo_shop", True)
    sandbox.add_wait_case(account.appid, "o_waiting_user")
    KfAccountFactory(account=account, kf_account="gone@demo_shop")  # deleted elsewhere
    operation = run(services.kf_accounts_request_sync(account=account), client)
    assert operation.status == KfOperationStatus.SUCCEEDED
    rows = {kf.kf_account: kf for kf in KfAccount.objects.filter(account=account)}
    assert set(rows) == {"amy@demo_shop", "bob@demo_shop"}
    assert rows["amy@demo_shop"].online and not rows["bob@demo_shop"].online
    assert list(KfWaitCase.objects.filter(account=account).values_list("openid", flat=True)) == [
        "o_waiting_user"
    ]
    # running the sync twice changes nothing
    run(services.kf_accounts_request_sync(account=account), client)
    assert KfAccount.objects.filter(account=account).count() == 2
    assert KfWaitCase.objects.filter(account=account).count() == 1


@pytest.mark.django_db
def test_avatar_must_be_a_small_jpg_or_png():
    kf = KfAccountFactory(account=kf_enabled_account())
    with pytest.raises(services.KfError):
        services.kf_account_upload_avatar(kf=kf, upload=SimpleUploadedFile("x.gif", b"GIF89a"))
    big = SimpleUploadedFile("x.jpg", io.BytesIO(b"0" * (2 * 1024 * 1024 + 1)).read())
    with pytest.raises(services.KfError):
        services.kf_account_upload_avatar(kf=kf, upload=big)
