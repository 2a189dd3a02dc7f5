"""Issue 23: a Celery pool child SIGKILLed in the middle of a task — a real `celery worker`
process with the prefork pool, its child killed while WeChat has applied a customer-service
addition and the answer is still on its way. The parent survives, the message comes back
at once (acks_late + reject_on_worker_lost), the redelivered task waits for the dead try's
lease, then reads the team back and records the addition as succeeded: settled within the
lease plus seconds, WeChat asked once, nothing left pending."""

import datetime
import os
import signal
import time
from pathlib import Path

import pytest
from django.db import connection

from accounts.tests.factories import OfficialAccountFactory
from core.testing.faults import CeleryWorker, database_url
from messaging.kf import services
from messaging.models import KfAccount, KfAccountStatus, KfOperation, KfOperationStatus

ADD = "/customservice/kfaccount/add"


def pool_children(pid: int) -> list[int]:
    """The direct children of `pid` (the prefork pool's processes), from /proc."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children]


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_pool_child_killed_mid_task_leaves_the_operation_settled(sandbox, settings, redis_client, tmp_path):
    from django.conf import settings as live

    settings.WECHAT_API_BASE = sandbox.base_url
    account = OfficialAccountFactory(
        kf_enabled=True, certified_until=datetime.date(2099, 1, 1), wechat_id="demo_shop"
    )
    sandbox.register_app(
        account.appid, account.appsecret, wechat_id=account.wechat_id, original_id=account.original_id
    )
    env = {
        "DATABASE_URL": database_url(connection.settings_dict),
        "TEST_REDIS_URL": live.REDIS_URL,
        "WECHAT_API_BASE": sandbox.base_url,
        "CONN_MAX_AGE": "0",
        "CELERY_TASK_SOFT_TIME_LIMIT": "15",
        "CELERY_TASK_TIME_LIMIT": "20",  # the lease of a try: still live when the message is back
        "CELERY_BROKER_VISIBILITY_TIMEOUT": "30",
    }
    worker = CeleryWorker(
        env,
        name=f"pool-{os.getpid()}",
        log_path=tmp_path / "worker.log",
        concurrency=1,
        extra_args=["--pool", "prefork"],
    ).wait_ready()
    try:
        parent = worker.process.pid
        (child,) = wait_for(lambda: pool_children(parent), 20, "the pool child")
        # WeChat applies the addition at once, then holds the answer 10 s (and loses it)
        sandbox.force_error(ADD, "lost", delay_ms=10_000, times=1, appid=account.appid)
        operation = services.kf_account_add(account=account, prefix="amy", nickname="艾米")
        wait_for(lambda: sandbox.app(account.appid).kf_accounts, 20, "WeChat to have the account")
        os.kill(child, signal.SIGKILL)  # the child dies mid-call; the worker's parent lives
        killed = time.monotonic()
        assert wait_for(
            lambda: KfOperation.objects.get(pk=operation.pk).status != KfOperationStatus.PENDING,
            45,
            "the operation to be settled",
        )
        settled_in = time.monotonic() - killed
        assert worker.process.poll() is None, "the worker itself survived"
        assert set(pool_children(parent)) - {child}, "a new pool child took over"
    finally:
        worker.stop()
    operation.refresh_from_db()
    assert operation.status == KfOperationStatus.SUCCEEDED, (operation.explanation, worker.log()[-3000:])
    assert KfAccount.objects.get(account=account).status == KfAccountStatus.ACTIVE
    assert sandbox.app(account.appid).calls[ADD] == 1  # read back, never added twice (65406)
    assert settled_in < 20 + 10, settled_in  # the dead try's lease plus seconds; no sweeper runs here
    assert "WorkerLostError" in worker.log() or "exited" in worker.log() or "signal 9" in worker.log()
