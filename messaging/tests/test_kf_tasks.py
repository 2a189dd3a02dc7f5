"""KF operations run by a real Celery worker against the sandbox (tasks take ids only)."""

import datetime
import time

import pytest

from accounts.tests.factories import OfficialAccountFactory
from messaging.kf import services
from messaging.models import KfAccount, KfAccountStatus, KfOperation, KfOperationStatus


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def kf_account_in_sandbox(sandbox, settings):
    settings.WECHAT_API_BASE = sandbox.base_url
    account = OfficialAccountFactory(
        kf_enabled=True, certified_until=datetime.date(2099, 1, 1), wechat_id="demo_shop"
    )
    sandbox.register_app(
        account.appid, account.appsecret, wechat_id=account.wechat_id, original_id=account.original_id
    )
    return account


def finished(operation):
    return lambda: KfOperation.objects.get(pk=operation.pk).status != KfOperationStatus.PENDING


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_adding_a_kf_account_runs_in_a_worker_after_commit(
    kf_account_in_sandbox, sandbox, celery_worker_thread
):
    account = kf_account_in_sandbox
    operation = services.kf_account_add(account=account, prefix="amy", nickname="艾米")
    assert wait_for(finished(operation))
    operation.refresh_from_db()
    assert operation.status == KfOperationStatus.SUCCEEDED, operation.explanation
    assert KfAccount.objects.get(account=account).status == KfAccountStatus.ACTIVE
    assert "amy@demo_shop" in {k["kf_account"] for k in sandbox.app(account.appid).kf_accounts.values()}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_temporary_errors_are_retried_by_the_task(
    kf_account_in_sandbox, sandbox, settings, celery_worker_thread
):
    account = kf_account_in_sandbox
    # Enough "system busy" answers to exhaust the client's own attempts once.
    sandbox.force_error("/customservice/kfaccount/add", -1, times=settings.WECHAT_HTTP_MAX_ATTEMPTS)
    operation = services.kf_account_add(account=account, prefix="bob", nickname="鲍勃")
    assert wait_for(finished(operation), timeout=40)
    operation.refresh_from_db()
    assert operation.status == KfOperationStatus.SUCCEEDED
    assert operation.attempts == 2


@pytest.mark.django_db
def test_after_the_last_retry_the_operation_is_failed_with_the_reason(
    kf_account_in_sandbox, sandbox, settings
):
    """R-KF-02: a temporary error on the last try is recorded (retryable), never left pending."""
    from messaging.kf.tasks import KF_MAX_RETRIES, kf_operation_run

    operation = services.kf_account_add(account=kf_account_in_sandbox, prefix="dan", nickname="丹")
    sandbox.force_error("/customservice/kfaccount/add", -1, times=settings.WECHAT_HTTP_MAX_ATTEMPTS)
    assert kf_operation_run.apply(args=[operation.pk], retries=KF_MAX_RETRIES).get() == "failed"
    operation.refresh_from_db()
    assert (operation.status, operation.errcode) == (KfOperationStatus.FAILED, -1)
    assert operation.errmsg.startswith("-1 ")  # "errcode errmsg" of the last error
    assert KfAccount.objects.get(account=kf_account_in_sandbox).status == KfAccountStatus.FAILED


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_business_errors_are_recorded_not_retried(kf_account_in_sandbox, sandbox, celery_worker_thread):
    account = kf_account_in_sandbox
    sandbox.force_error("/customservice/kfaccount/add", 65405, times=1)
    operation = services.kf_account_add(account=account, prefix="cat", nickname="凯特")
    assert wait_for(finished(operation))
    operation.refresh_from_db()
    assert (operation.status, operation.errcode, operation.attempts) == (KfOperationStatus.FAILED, 65405, 1)
    assert operation.explanation
