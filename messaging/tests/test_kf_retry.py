"""Customer-service operations are retryable, never read as success on failure, and a sync
never deletes without saying so (R-KF-02), through the services and the sandbox API."""

import pytest
from django.urls import reverse

from messaging.kf import services
from messaging.models import KfAccount, KfAccountStatus, KfOperation, KfOperationStatus
from messaging.tests.factories import KfAccountFactory
from messaging.tests.test_kf_accounts import run, wx  # noqa: F401 - the fixture
from wechat.api import customer_service


@pytest.mark.django_db
def test_r_kf_02_a_failed_addition_can_be_retried_and_then_succeeds(wx, sandbox):  # noqa: F811
    """The demo's case: the plug-in was off in WeChat (65400); after it is on, a retry adds."""
    account, client = wx
    sandbox.app(account.appid).kf_enabled = False
    failed = run(services.kf_account_add(account=account, prefix="amy", nickname="艾米"), client)
    kf = KfAccount.objects.get(account=account)
    assert failed.status == KfOperationStatus.FAILED and failed.errcode == 65400
    assert kf.status == KfAccountStatus.FAILED
    # changing a never-added account is refused with a reason, not sent (it would be 65401)
    with pytest.raises(services.KfError, match="retry adding it first"):
        services.kf_account_update(kf=kf, nickname="新名字")
    sandbox.app(account.appid).kf_enabled = True
    retry = run(services.kf_operation_retry(operation=failed), client)
    assert retry.pk != failed.pk and retry.status == KfOperationStatus.SUCCEEDED
    assert KfAccount.objects.get(pk=kf.pk).status == KfAccountStatus.ACTIVE
    assert [row["kf_account"] for row in customer_service.list_accounts(client)] == ["amy@demo_shop"]
    assert KfOperation.objects.get(pk=failed.pk).status == KfOperationStatus.FAILED  # on record
    with pytest.raises(services.KfError):  # only failed operations are retried
        services.kf_operation_retry(operation=retry)


@pytest.mark.django_db
def test_a_failed_change_does_not_turn_a_failed_account_active(wx, sandbox):  # noqa: F811
    account, client = wx
    kf = KfAccountFactory(account=account, kf_account="zed@demo_shop")  # active here only
    failed = run(services.kf_account_update(kf=kf, nickname="改名"), client)  # 65401 in WeChat
    assert failed.status == KfOperationStatus.FAILED
    KfAccount.objects.filter(pk=kf.pk).update(status=KfAccountStatus.FAILED)
    kf.refresh_from_db()
    # a later failure of another kind (deletion of a never-added account) sends nothing
    assert services.kf_account_delete(kf=kf) is None
    assert not KfAccount.objects.filter(pk=kf.pk).exists()


@pytest.mark.django_db
def test_sync_keeps_failed_additions_and_names_what_it_removed(wx, sandbox):  # noqa: F811
    account, client = wx
    customer_service.add_account(client, "amy@demo_shop", "艾米")
    KfAccountFactory(account=account, kf_account="gone@demo_shop")  # deleted elsewhere
    KfAccountFactory(
        account=account, kf_account="retry@demo_shop", status=KfAccountStatus.FAILED
    )  # waits for a retry
    operation = run(services.kf_accounts_request_sync(account=account), client)
    rows = set(KfAccount.objects.filter(account=account).values_list("kf_account", flat=True))
    assert rows == {"amy@demo_shop", "retry@demo_shop"}
    assert "gone@demo_shop" in operation.explanation  # said, not silent


@pytest.mark.django_db
def test_operation_status_reads_as_an_operation_not_a_certification(admin_client):
    from django.utils import translation

    from messaging.models import KfOperationStatus

    with translation.override("zh-hans"):
        assert str(KfOperationStatus.SUCCEEDED.label) == "成功"
        assert "认证" not in str(KfOperationStatus.FAILED.label)


@pytest.mark.django_db
def test_adding_in_the_admin_never_says_it_succeeded(admin_client, settings):
    """The form's answer is "being added", not Django's "was added successfully": WeChat
    has not answered when the page comes back."""
    from messaging.tests.test_kf_accounts import kf_enabled_account

    account = kf_enabled_account()
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = admin_client.post(
        reverse("admin:messaging_kfaccount_add"),
        {"account": account.pk, "prefix": "amy", "nickname": "艾米"},
        follow=True,
    )
    text = response.content.decode()
    assert response.status_code == 200
    assert "added successfully" not in text and "being added in WeChat" in text
    assert KfAccount.objects.get().status == KfAccountStatus.PENDING


@pytest.mark.django_db
def test_retry_actions_on_the_team_and_operation_lists(admin_client):
    from messaging.models import KfOperationAction
    from messaging.tests.test_kf_accounts import kf_enabled_account

    account = kf_enabled_account()
    kf = KfAccountFactory(account=account, kf_account="amy@demo_shop", status=KfAccountStatus.FAILED)
    failed = KfOperation.objects.create(
        account=account,
        kf=kf,
        kf_account=kf.kf_account,
        action=KfOperationAction.ADD,
        nickname="艾米",
        status=KfOperationStatus.FAILED,
        errcode=65400,
    )
    admin_client.post(
        reverse("admin:messaging_kfaccount_changelist"),
        {"action": "retry_adding", "_selected_action": [kf.pk]},
    )
    assert KfAccount.objects.get(pk=kf.pk).status == KfAccountStatus.PENDING
    assert KfOperation.objects.filter(status=KfOperationStatus.PENDING).count() == 1
    # the same failed operation again, from the operation list: refused with the reason
    response = admin_client.post(
        reverse("admin:messaging_kfoperation_changelist"),
        {"action": "retry_failed", "_selected_action": [failed.pk]},
        follow=True,
    )
    assert KfOperation.objects.filter(status=KfOperationStatus.PENDING).count() == 1
    assert "amy@demo_shop" in response.content.decode()
