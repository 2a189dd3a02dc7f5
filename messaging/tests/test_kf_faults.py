"""Issue 23 for the customer-service team: an operation whose answer was lost is settled by
reading the team back (getkflist), never by a second call WeChat would refuse; a try holds a
lease, so a second delivery does nothing while the first works and the redelivered task of a
dead worker finds it free; operations written while Redis was down are queued again by the
sweeper once it is back. Real sandbox over loopback HTTP ("lost": WeChat applies the call and
the answer never arrives), real PostgreSQL and Redis."""

import datetime
import time

import pytest
from django.utils import timezone

from messaging.kf import operations, services
from messaging.models import KfAccount, KfAccountStatus, KfOperation, KfOperationStatus
from messaging.tests.test_kf_accounts import (
    kf_enabled_account,
    run,
    wx,  # noqa: F401 - the fixture
)
from wechat.api import customer_service
from wechat.errors import WeChatError

ADD, UPDATE, DELETE = (
    "/customservice/kfaccount/add",
    "/customservice/kfaccount/update",
    "/customservice/kfaccount/del",
)


def adds(sandbox, account):
    return sandbox.app(account.appid).calls[ADD]


@pytest.mark.django_db
def test_an_addition_whose_answer_was_lost_is_read_back_and_succeeds(wx, sandbox):  # noqa: F811
    account, client = wx
    sandbox.force_error(ADD, "lost", times=1, appid=account.appid)  # not idempotent: sent once
    operation = run(services.kf_account_add(account=account, prefix="amy", nickname="艾米"), client)
    assert operation.status == KfOperationStatus.SUCCEEDED, operation.explanation
    assert "read back" in operation.explanation or "回读" in operation.explanation
    assert KfAccount.objects.get(account=account).status == KfAccountStatus.ACTIVE
    assert adds(sandbox, account) == 1  # no second add (WeChat would answer 65406)


@pytest.mark.django_db
def test_a_change_and_a_deletion_whose_answers_were_lost_are_read_back(wx, sandbox):  # noqa: F811
    account, client = wx
    run(services.kf_account_add(account=account, prefix="amy", nickname="艾米"), client)
    kf = KfAccount.objects.get(account=account)
    sandbox.force_error(UPDATE, "lost", times=3, appid=account.appid)  # idempotent: the client tries 3 times
    assert (
        run(services.kf_account_update(kf=kf, nickname="艾米2"), client).status == KfOperationStatus.SUCCEEDED
    )
    kf.refresh_from_db()
    assert kf.nickname == "艾米2"
    sandbox.force_error(DELETE, "lost", times=1, appid=account.appid)
    operation = run(services.kf_account_delete(kf=kf), client)
    assert operation.status == KfOperationStatus.SUCCEEDED and not KfAccount.objects.exists()
    assert customer_service.list_accounts(client) == []


@pytest.mark.django_db
def test_an_addition_dropped_before_wechat_saw_it_is_retried_once(wx, sandbox):  # noqa: F811
    account, client = wx
    operation = services.kf_account_add(account=account, prefix="bob", nickname="鲍勃")
    sandbox.force_error(ADD, "drop", times=1, appid=account.appid)  # WeChat never saw it
    with pytest.raises(WeChatError):
        run(operation, client)  # read back: not there; the task retries
    operation.refresh_from_db()
    assert (operation.status, operation.attempts) == (KfOperationStatus.PENDING, 1)
    assert operation.claimed_at is None  # the lease given back for the retry
    assert run(operation, client).status == KfOperationStatus.SUCCEEDED
    assert adds(sandbox, account) == 1


@pytest.mark.django_db
def test_when_the_read_back_fails_too_the_next_try_reads_back_first(wx, sandbox):  # noqa: F811
    """Applied, its answer lost, and the team list unreadable: the task retries, and its
    next try reads the list first and does not add again."""
    account, client = wx
    operation = services.kf_account_add(account=account, prefix="bob", nickname="鲍勃")
    sandbox.force_error(ADD, "lost", times=1, appid=account.appid)
    sandbox.force_error("/cgi-bin/customservice/getkflist", "drop", times=3, appid=account.appid)
    with pytest.raises(WeChatError):
        run(operation, client)
    assert KfOperation.objects.get(pk=operation.pk).status == KfOperationStatus.PENDING
    assert adds(sandbox, account) == 1
    done = run(operation, client)  # the task's next try
    assert done.status == KfOperationStatus.SUCCEEDED, done.explanation
    assert adds(sandbox, account) == 1 and KfAccount.objects.get().status == KfAccountStatus.ACTIVE


@pytest.mark.django_db
def test_a_try_holds_a_lease_and_a_dead_workers_operation_is_taken_once_it_ran_out(wx, sandbox):  # noqa: F811
    account, client = wx
    operation = services.kf_account_add(account=account, prefix="cat", nickname="凯特")
    taken = timezone.now()
    KfOperation.objects.filter(pk=operation.pk).update(attempts=1, claimed_at=taken)  # a try is at work
    customer_service.add_account(client, "cat@demo_shop", "凯特")  # …and WeChat did it; then it died
    assert run(operation, client).status == KfOperationStatus.PENDING  # a second delivery waits
    assert operations.kf_operations_lost() == []
    expired = taken - operations.kf_lease() - datetime.timedelta(seconds=1)
    KfOperation.objects.filter(pk=operation.pk).update(claimed_at=expired)
    assert operations.kf_operations_lost() == [operation.pk]
    done = run(operation, client)
    assert done.status == KfOperationStatus.SUCCEEDED, done.explanation
    assert adds(sandbox, account) == 1  # read back, not added twice (65406)


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_operations_written_while_redis_was_down_are_queued_again_when_it_is_back(sandbox, settings):
    """The queue down when the operation is written: it stays pending (core.queueing logs
    it); a minute later the sweeper queues it and a real worker adds the account."""
    from celery.contrib.testing.worker import start_worker

    from core.testing.faults import free_port, point_broker_at
    from messaging.kf.tasks import kf_operations_sweep
    from wxadmin.celery import app

    settings.WECHAT_API_BASE = sandbox.base_url
    account = kf_enabled_account()
    sandbox.register_app(
        account.appid, account.appsecret, wechat_id=account.wechat_id, original_id=account.original_id
    )
    original = app.conf.broker_url
    point_broker_at(f"redis://127.0.0.1:{free_port()}/0")  # Redis down
    try:
        operation = services.kf_account_add(account=account, prefix="dan", nickname="丹")
        assert kf_operations_sweep() == 0  # written just now, and the queue is still down
    finally:
        point_broker_at(original)
    assert KfOperation.objects.get(pk=operation.pk).status == KfOperationStatus.PENDING
    KfOperation.objects.filter(pk=operation.pk).update(
        created_at=timezone.now() - datetime.timedelta(minutes=2)
    )
    app.conf.update(task_always_eager=False)
    with start_worker(app, pool="threads", concurrency=1, perform_ping_check=False, loglevel="WARNING"):
        assert kf_operations_sweep() == 1
        deadline = timezone.now() + datetime.timedelta(seconds=30)
        while timezone.now() < deadline:
            if KfOperation.objects.get(pk=operation.pk).status != KfOperationStatus.PENDING:
                break
            time.sleep(0.2)
    operation.refresh_from_db()
    assert operation.status == KfOperationStatus.SUCCEEDED, operation.explanation
    assert KfAccount.objects.get(account=account).status == KfAccountStatus.ACTIVE
