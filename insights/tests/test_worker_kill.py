"""A real Celery worker running a statistics backfill is killed with SIGKILL (issue 28): the
next run resumes once the dead worker's lease expires, and nothing is counted twice."""

import datetime
import time

import pytest
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from accounts.tests.factories import OfficialAccountFactory
from core.testing.faults import CeleryWorker, database_url
from insights import sync_services, wechat_sync
from insights.models import Backfill, DailyFigure, SyncDay
from wechat.api import datacube
from wechat_sandbox.areas.datacube import figures

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def expected_rows(appid, start, end):
    count, new, day = 0, 0, start
    while day <= end:
        for spec in wechat_sync.AREAS.values():
            rows = figures(appid, spec.api, day)
            count += len(spec.parse(rows))
            if spec.api == "getusersummary":
                new += sum(r["new_user"] for r in rows)
        day += datetime.timedelta(days=1)
    return count, new


def test_a_worker_killed_mid_backfill_resumes_and_counts_nothing_twice(
    transactional_db, sandbox, settings, redis_client, tmp_path
):
    settings.WECHAT_API_BASE = sandbox.base_url
    settings.WECHAT_HTTP_MAX_ATTEMPTS = 1
    sandbox.latency_ms = 80  # a distant WeChat: the run is still going when it is killed
    account = OfficialAccountFactory(certified_until=datetime.date(2099, 1, 1))
    sandbox.register_app(account.appid, str(account.appsecret))
    env = {
        "DATABASE_URL": database_url(connection.settings_dict),
        "TEST_REDIS_URL": settings.REDIS_URL,
        "WECHAT_API_BASE": sandbox.base_url,
        "WECHAT_HTTP_MAX_ATTEMPTS": "1",
        "INSIGHTS_SYNC_LOCK_SECONDS": "3",  # a dead worker's lease expires 3 s after its last call
        "CONN_MAX_AGE": "0",
    }
    worker = CeleryWorker(
        env, name=f"insights-doomed-{time.monotonic_ns()}", log_path=tmp_path / "worker.log"
    )
    try:
        worker.wait_ready(timeout=120)
        end = datacube.available_until(timezone.now())
        start = end - datetime.timedelta(days=89)
        backfill = sync_services.start_backfill(
            account=account, start=start, end=end, by=None
        )  # queued on commit
        deadline = time.monotonic() + 120
        while SyncDay.objects.filter(account=account, status="ok").count() < 60:
            assert time.monotonic() < deadline, worker.log()[-2000:]
            time.sleep(0.05)
        worker.kill()
    finally:
        worker.stop()
    assert SyncDay.objects.filter(account=account, status="pending").exists(), (
        "killed too late to prove anything"
    )
    calls_before = sum(
        n for path, n in sandbox.state(account.appid)["calls"].items() if path.startswith("/datacube/")
    )

    deadline = time.monotonic() + 30
    while (outcome := wechat_sync.sync_account(account.pk)).status != "done":
        assert outcome.status == "busy" and time.monotonic() < deadline, outcome  # the dead worker's lease
        time.sleep(0.5)

    count, new = expected_rows(account.appid, start, end)
    assert DailyFigure.objects.filter(account=account).count() == count
    total = DailyFigure.objects.filter(account=account, metric="user.new", dimension="").aggregate(
        s=Sum("value")
    )
    assert total["s"] == new
    calls = sum(
        n for path, n in sandbox.state(account.appid)["calls"].items() if path.startswith("/datacube/")
    )
    # 90 days: 13 × 3 + 6 + 3 + 90 × 3 windows; at most the killed one twice
    assert calls <= 318 + 1
    assert calls > calls_before
    backfill.refresh_from_db()
    assert backfill.status == Backfill.Status.DONE
