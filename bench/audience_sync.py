"""Benchmark: a full follower sync from the sandbox, and the follower list at scale (issue 24).

    .venv/bin/python bench/audience_sync.py                    # 1,000,000 followers
    .venv/bin/python bench/audience_sync.py --followers 200000

Runs against its own PostgreSQL database (`BENCH_DATABASE_URL`, default
postgres://postgres@127.0.0.1:5432/wx_bench_audience, created and migrated if missing; its
accounts and followers are wiped at the start). The sandbox runs in a child process, so the
figures below are this process's only.

1. **sync**: ``audience.services.run_sync`` pages ``user/get`` (10,000) and ``batchget`` (100)
   from the sandbox and upserts each page. Printed: wall time, time waiting on the sandbox,
   the database side (everything else) as followers/s, and the process's peak RSS
   (``resource.getrusage``) — measured before anything else grows the process.
1b. **db alone** (skip with --no-db-alone): the same N followers, built in this process from
   the sandbox's own generator (``Audience.user_info``), upserted page by page on another
   account exactly as ``run_sync`` does (``upsert_followers`` and the cursor in one
   transaction), timing only those transactions. In 1. the next page is fetched by a thread
   of this process while a page is written, and the sandbox serves it from another process
   on the same cores: the "database side" there includes that competition for the GIL and
   the CPU; here it does not. Its rows are deleted afterwards.
2. **baseline**, same run: a bare ``bulk_create`` (plain INSERT, no conflict handling, no
   tags) of --baseline-rows (200,000) follower rows of the same shape, in the same 10,000-row
   chunks, on other accounts (the first 10,000 are the small account of 3.). Printed:
   rows/s and the sync/baseline ratio of the rates.
3. **list**: the admin's follower list (superuser), filtered by account + tag, searched by
   remark, and page 100, on the big account vs an account of 10,000: median time of 5, the
   request's own CPU time in this process (the wall time less waiting for a core and for
   PostgreSQL), the part spent in SQL, and the SQL query count of each, with the ratios.

Targets (issue 24): DB side ≥ 20,000 followers/s, peak ≤ 200 MB; list ≤ 2× and ≤ 300 ms
with equal query counts.
"""

from __future__ import annotations

import argparse
import datetime
import os
import resource
import statistics
import sys
import time
from pathlib import Path

from benchdb import ensure_database, setup_django

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wx_bench_audience")
os.environ["DATABASE_URL"] = DB_URL
os.environ.setdefault("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
os.environ["DJANGO_SETTINGS_MODULE"] = "wxadmin.settings.test"
SMALL = 10_000
CHUNK = 10_000


def serve_sandbox(appid: str, secret: str, followers: int, conn) -> None:
    from wechat_sandbox import Sandbox
    from wechat_sandbox.areas._audience import audience

    sandbox = Sandbox().start(host="127.0.0.1", port=0)
    sandbox.register_app(appid, secret, certified=True)
    audience(sandbox.app(appid)).generated = followers
    conn.send(sandbox.base_url)
    conn.recv()
    sandbox.stop()


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def wipe() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE audience_followertag, audience_follower, audience_syncrun, audience_tag, "
            "audience_qrscanday, audience_qrcode, accounts_officialaccount_assigned_staff, "
            "accounts_officialaccount, accounts_historicalofficialaccount, accounts_entity, "
            "accounts_historicalentity RESTART IDENTITY CASCADE"
        )


def tag_every_tenth(account) -> None:
    """Tag 1 on every tenth follower, remark on every hundredth (the list's filters)."""
    from django.db import connection

    from audience.models import Tag

    Tag.objects.create(account=account, wechat_id=100, name="VIP")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audience_followertag (follower_id, account_id, tag_id) "
            "SELECT id, account_id, 100 FROM audience_follower WHERE account_id = %s AND id %% 10 = 0",
            [account.pk],
        )
        cursor.execute(
            "UPDATE audience_follower SET remark = '老客户' || id WHERE account_id = %s AND id %% 100 = 0",
            [account.pk],
        )
        cursor.execute("ANALYZE audience_follower; ANALYZE audience_followertag")


def measure_list(client, account) -> dict[str, tuple[float, int]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from audience.models import Tag

    tag = Tag.objects.get(account=account)
    base = "/admin/audience/follower/"
    urls = {
        "filtered by tag": f"{base}?account__id__exact={account.pk}&tag={tag.pk}",
        "searched by remark": f"{base}?account__id__exact={account.pk}&q=老客户",
        "page 100": f"{base}?account__id__exact={account.pk}&p=100",
    }
    out = {}
    for name, url in urls.items():
        times, cpu_times, sql_times, queries = [], [], [], 0
        for _ in range(5):
            with CaptureQueriesContext(connection) as captured:
                started, cpu_started = time.perf_counter(), time.process_time()
                response = client.get(url)
                times.append(time.perf_counter() - started)
                cpu_times.append(time.process_time() - cpu_started)
            assert response.status_code == 200, (url, response.status_code)
            queries = len(captured)
            sql_times.append(sum(float(q["time"]) for q in captured.captured_queries))
        out[name] = (
            statistics.median(times) * 1000,
            statistics.median(cpu_times) * 1000,
            statistics.median(sql_times) * 1000,
            queries,
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--followers", type=int, default=1_000_000)
    parser.add_argument(
        "--baseline-rows", type=int, default=200_000, help="rows of the bulk_create baseline (its rate)"
    )
    parser.add_argument(
        "--no-db-alone",
        dest="db_alone",
        action="store_false",
        help="skip 1b, the same upserts without the sandbox (the database side alone)",
    )
    args = parser.parse_args()
    ensure_database(DB_URL)
    import multiprocessing
    import secrets

    appid, secret = "wx" + secrets.token_hex(8), secrets.token_hex(16)
    parent_conn, child_conn = multiprocessing.Pipe()
    sandbox_process = multiprocessing.get_context("fork").Process(
        target=serve_sandbox, args=(appid, secret, args.followers, child_conn), daemon=True
    )
    sandbox_process.start()
    base_url = parent_conn.recv()
    os.environ["WECHAT_API_BASE"] = base_url
    setup_django()
    from django.conf import settings

    settings.WECHAT_API_BASE = base_url
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.test import Client

    from accounts.tests.factories import OfficialAccountFactory
    from audience import services
    from audience.models import Follower, SyncRun

    wipe()
    big = OfficialAccountFactory(appid=appid, appsecret=secret, certified_until=datetime.date(2099, 1, 1))
    small = OfficialAccountFactory(certified_until=datetime.date(2099, 1, 1))
    rss_before = peak_mb()

    # -- 1. the sync ---------------------------------------------------------------------
    timing = services.SyncTiming()
    started = time.perf_counter()
    run = services.run_sync(services.start_sync(account=big).pk, timing=timing)
    wall = time.perf_counter() - started
    rss_sync = peak_mb()
    assert run.status == "done" and run.added == args.followers, (run.status, run.added, run.last_error)
    sync_rate = args.followers / timing.db_seconds
    print(
        f"sync      {args.followers:,} followers: {wall:.1f} s wall, {timing.wechat_seconds:.1f} s waiting "
        f"on the sandbox, {timing.db_seconds:.1f} s database side = {sync_rate:,.0f} followers/s",
        flush=True,
    )
    print(f"          peak RSS {rss_sync:.0f} MB (before the sync: {rss_before:.0f} MB)", flush=True)

    # -- 1b. the database side alone: the same pages, no sandbox and no fetch thread ------
    if args.db_alone:
        from wechat_sandbox.areas._audience import Audience

        alone = OfficialAccountFactory(certified_until=datetime.date(2099, 1, 1))
        alone_run = SyncRun.objects.create(account=alone)
        generator = Audience(prefix="dbalone", generated=args.followers)
        alone_seconds = 0.0
        for start in range(0, args.followers, CHUNK):
            infos = [generator.user_info(generator.openid_at(i)) for i in range(start, start + CHUNK)]
            t = time.perf_counter()
            with transaction.atomic():  # as run_sync: the page and the cursor in one transaction
                services.upsert_followers(alone.pk, alone_run.pk, infos)
                SyncRun.objects.filter(pk=alone_run.pk).update(next_openid=infos[-1]["openid"])
            alone_seconds += time.perf_counter() - t
        print(
            f"db alone  the same {args.followers:,} followers upserted page by page from memory (no "
            f"sandbox, no fetch thread): {alone_seconds:.1f} s = {args.followers / alone_seconds:,.0f} "
            f"followers/s (load average {os.getloadavg()[0]:.1f})",
            flush=True,
        )
        with connection.cursor() as cursor:  # not the ORM's delete: it would load a million rows
            cursor.execute("DELETE FROM audience_follower WHERE account_id = %s", [alone.pk])
            cursor.execute("VACUUM ANALYZE audience_follower")

    # -- 2. baseline: a bare bulk insert of as many rows, same shape ---------------------
    now = datetime.datetime.now(datetime.UTC)
    client = Client()
    admin = get_user_model().objects.filter(
        username="bench"
    ).first() or get_user_model().objects.create_superuser("bench", "bench@example.com", "x")
    client.force_login(admin)
    insert_seconds = 0.0
    small_list = None
    baseline_rows = min(args.followers, args.baseline_rows)
    for start in range(0, baseline_rows, CHUNK):
        rows = [
            Follower(
                account=small,
                openid=f"oBase{start + i:023d}",
                unionid=f"uBase{start + i:023d}",
                subscribed=True,
                subscribe_time=now,
                subscribe_scene="ADD_SCENE_SEARCH",
                language="zh_CN",
                seen_by_run=0,
            )
            for i in range(min(CHUNK, baseline_rows - start))
        ]
        t = time.perf_counter()
        Follower.objects.bulk_create(rows)
        insert_seconds += time.perf_counter() - t
        if start == 0:  # the small account, measured at exactly 10,000
            tag_every_tenth(small)
            small_list = measure_list(client, small)
            # the rest of the baseline rows go to a third account, so "small" stays at 10,000
            small = OfficialAccountFactory(certified_until=datetime.date(2099, 1, 1))
    base_rate = baseline_rows / insert_seconds
    print(
        f"baseline  bare bulk_create of {baseline_rows:,} rows: {insert_seconds:.1f} s = "
        f"{base_rate:,.0f} rows/s; sync/baseline {sync_rate / base_rate:.2f}",
        flush=True,
    )

    # -- 3. the list at N vs 10,000 -----------------------------------------------------
    tag_every_tenth(big)
    big_list = measure_list(client, big)
    assert small_list is not None
    for name, (ms, cpu_ms, sql_ms, queries) in big_list.items():
        small_ms, small_cpu_ms, small_sql_ms, small_queries = small_list[name]
        print(
            f"list      {name:<20} {args.followers:,}: {ms:6.1f} ms (CPU {cpu_ms:5.1f}, SQL {sql_ms:5.1f}) "
            f"{queries} queries | {SMALL:,}: {small_ms:6.1f} ms (CPU {small_cpu_ms:5.1f}, SQL "
            f"{small_sql_ms:5.1f}) {small_queries} queries | ratio {ms / small_ms:.2f}",
            flush=True,
        )
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    parent_conn.send("stop")
    sandbox_process.join(timeout=10)


if __name__ == "__main__":
    main()
