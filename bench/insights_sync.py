"""Benchmark: a backfill of a year of WeChat statistics for one account, against a week (issue 28).

    .venv/bin/python bench/insights_sync.py
    .venv/bin/python bench/insights_sync.py --days 365 --latency-ms 30

Runs against its own PostgreSQL database (`BENCH_DATABASE_URL`, default
postgres://postgres@127.0.0.1:5432/wx_bench_insights, created and migrated if missing; its
accounts and figures are wiped at the start) and the Redis of `TEST_REDIS_URL` (default db 3;
its ``insights:*`` keys are deleted first). The sandbox runs in a child process, optionally
answering after ``--latency-ms`` like a distant WeChat, so the figures are this process's.

1. **week** (the baseline, same run): ``insights.wechat_sync.sync_account`` after a backfill of
   the last 7 finished days of account A. Printed: calls, DailyFigure rows, wall time.
2. **year**: the same for ``--days`` (365) of account B, with a call budget large enough to end
   in one run. Printed: the same, the time per day and the ratio of the per-day times
   (year ÷ week: ≈ 1 means the cost grows with the days only), and how many days of the default
   budget (``INSIGHTS_DATACUBE_DAILY_CALLS``) the calls take.
3. **again**: every day of the year set pending and fetched again: the same rows (nothing
   counted twice) — printed with its time.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import sys
import time
from pathlib import Path

from benchdb import ensure_database, setup_django

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wx_bench_insights")
os.environ["DATABASE_URL"] = DB_URL
os.environ.setdefault("TEST_REDIS_URL", "redis://127.0.0.1:6379/3")
os.environ["DJANGO_SETTINGS_MODULE"] = "wxadmin.settings.test"
DEFAULT_BUDGET = 500


def serve_sandbox(apps: dict[str, str], latency_ms: int, conn) -> None:
    from wechat_sandbox import Sandbox

    sandbox = Sandbox(latency_ms=latency_ms).start(host="127.0.0.1", port=0)
    for appid, secret in apps.items():
        sandbox.register_app(appid, secret, certified=True)
    conn.send(sandbox.base_url)
    conn.recv()
    sandbox.stop()


def wipe() -> None:
    from django.db import connection

    from core.redis_clients import Purpose
    from core.redis_clients import client as redis_client

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE insights_dailyfigure, insights_syncday, insights_backfill, "
            "accounts_officialaccount_assigned_staff, accounts_officialaccount, "
            "accounts_historicalofficialaccount, accounts_entity, accounts_historicalentity "
            "RESTART IDENTITY CASCADE"
        )
    r = redis_client(Purpose.TASKS)
    for key in r.scan_iter("insights:*"):
        r.delete(key)


WAITED = [0.0]  # seconds spent in datacube calls (the sandbox's side and the HTTP round trip)


def time_the_calls() -> None:
    """Count the time spent inside ``datacube.fetch`` (the rest of a run is ours: DB, Redis)."""
    from insights import wechat_sync

    real = wechat_sync.datacube.fetch

    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            WAITED[0] += time.perf_counter() - started

    wechat_sync.datacube.fetch = timed


def backfill_and_sync(account, days: int) -> tuple[float, int, int]:
    """Start a backfill of the last ``days`` finished days and run the sync to the end:
    (wall seconds, calls, DailyFigure rows of the account)."""
    from django.utils import timezone

    from insights import sync_services, wechat_sync
    from insights.models import Backfill, DailyFigure
    from wechat.api import datacube

    end = datacube.available_until(timezone.now())
    start = end - datetime.timedelta(days=days - 1)
    backfill = sync_services.start_backfill(account=account, start=start, end=end, by=None)
    started = time.perf_counter()
    calls = 0
    while True:
        outcome = wechat_sync.sync_account(account.pk, max_seconds=3600)
        calls += outcome.calls
        if outcome.status != "more":
            break
    wall = time.perf_counter() - started
    backfill.refresh_from_db()
    assert backfill.status == Backfill.Status.DONE and backfill.progress == 100, (backfill.status, outcome)
    return wall, calls, DailyFigure.objects.filter(account=account).count()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--latency-ms", type=int, default=0, help="the sandbox's delay per call")
    args = parser.parse_args()
    ensure_database(DB_URL)
    import multiprocessing
    import secrets

    apps = {"wx" + secrets.token_hex(8): secrets.token_hex(16) for _ in range(2)}
    parent_conn, child_conn = multiprocessing.Pipe()
    sandbox_process = multiprocessing.get_context("fork").Process(
        target=serve_sandbox, args=(apps, args.latency_ms, child_conn), daemon=True
    )
    sandbox_process.start()
    base_url = parent_conn.recv()
    os.environ["WECHAT_API_BASE"] = base_url
    setup_django()
    from django.conf import settings

    settings.WECHAT_API_BASE = base_url
    settings.INSIGHTS_DATACUBE_DAILY_CALLS = 100_000  # the year in one run; its cost in budget days below
    from accounts.tests.factories import OfficialAccountFactory
    from insights.models import DailyFigure, SyncDay

    wipe()
    time_the_calls()
    (appid_a, secret_a), (appid_b, secret_b) = apps.items()
    week_account = OfficialAccountFactory(
        appid=appid_a, appsecret=secret_a, certified_until=datetime.date(2099, 1, 1)
    )
    year_account = OfficialAccountFactory(
        appid=appid_b, appsecret=secret_b, certified_until=datetime.date(2099, 1, 1)
    )

    week_wall, week_calls, week_rows = backfill_and_sync(week_account, 7)
    week_waited, WAITED[0] = WAITED[0], 0.0
    print(
        f"week      7 days: {week_calls} calls, {week_rows:,} figures, {week_wall:.2f} s wall "
        f"({week_waited:.2f} s in WeChat calls) = {week_wall / 7 * 1000:.1f} ms a day",
        flush=True,
    )
    year_wall, year_calls, year_rows = backfill_and_sync(year_account, args.days)
    year_waited, WAITED[0] = WAITED[0], 0.0
    ratio = (year_wall / args.days) / (week_wall / 7)
    ours_ms = (year_wall - year_waited) / year_calls * 1000
    print(
        f"year      {args.days} days: {year_calls} calls, {year_rows:,} figures, {year_wall:.2f} s wall "
        f"({year_waited:.2f} s in WeChat calls, {ours_ms:.1f} ms of ours "
        f"a call) = {year_wall / args.days * 1000:.1f} ms a day; per-day ratio year/week {ratio:.2f}",
        flush=True,
    )
    print(
        f"          at the default budget of {DEFAULT_BUDGET} calls a day: "
        f"{math.ceil(year_calls / DEFAULT_BUDGET)} Beijing days",
        flush=True,
    )

    SyncDay.objects.filter(account=year_account).update(status=SyncDay.Status.PENDING)
    from insights import wechat_sync

    started = time.perf_counter()
    calls = 0
    while (outcome := wechat_sync.sync_account(year_account.pk, max_seconds=3600)).status == "more":
        calls += outcome.calls
    calls += outcome.calls
    again_wall = time.perf_counter() - started
    again_rows = DailyFigure.objects.filter(account=year_account).count()
    assert again_rows == year_rows, (again_rows, year_rows)
    print(
        f"again     {args.days} days fetched again: {calls} calls, {again_rows:,} figures "
        f"(unchanged), {again_wall:.2f} s",
        flush=True,
    )
    parent_conn.send("stop")
    sandbox_process.join(timeout=10)


if __name__ == "__main__":
    main()
