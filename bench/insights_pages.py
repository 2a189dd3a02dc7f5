"""Benchmark: the insights pages and the monthly client report at scale (issue 28).

    .venv/bin/python bench/insights_pages.py              # 2,000,000 logged messages
    .venv/bin/python bench/insights_pages.py --quick      # 200,000 (to try it out)

Runs against its own PostgreSQL database (`BENCH_DATABASE_URL`, default
postgres://postgres@127.0.0.1:5432/wx_bench_insights_pages, created and migrated if missing; its rows
are wiped at the start), in-process through Django's test client (the page's own time: no
network, no gunicorn).

Two accounts in one run:
- **baseline**: 30 days of daily figures (WeChat's and our own, with their breakdowns: about 60
  rows a day) and 10,000 logged messages;
- **big**: 3 years of the same daily figures and 2,000,000 logged messages (plus a reply per
  100 messages), the log tables analysed.

For each, as median of `--runs` runs with its SQL query count: the account page (the default
last 30 days), the same page over a year, the XLSX export of that year and the entity page. It
prints both and the big/baseline ratio (targets: ≤ 2× and ≤ 300 ms each, query counts equal),
with where the wall time went: this process's CPU, the SQL round trips, and (the rest) waiting
for a core; and the load average when each row was measured. The figures include the per-article
breakdowns (14 articles read a day) and the messages' distribution, as the sync writes them, and
the sync's state of every WeChat day ("ok": ``SyncDay`` rows, as a synced account has them). The
tables are VACUUM ANALYZEd after loading, as autovacuum leaves them in production. The pages are
served in-process: the database connection stays open between requests (Django's test client
does not close it, as a production worker with ``CONN_MAX_AGE`` > 0 does not), no server is
started.
Then an entity with 10 accounts of a year of figures each: its monthly report (page + PDF by
WeasyPrint), with the CPU seconds it took (target ≤ 10 s), and one day's rollup of our own
figures over the big log (for information: the hourly task's cost).
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import time
from pathlib import Path

from benchdb import ensure_database, setup_django

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wx_bench_insights_pages")
os.environ["DATABASE_URL"] = DB_URL
os.environ.setdefault("TEST_REDIS_URL", "redis://127.0.0.1:6379/12")
os.environ["DJANGO_SETTINGS_MODULE"] = "wxadmin.settings.test"

WECHAT = {
    "user.new": 40,
    "user.cancel": 8,
    "user.net": 32,
    "user.cumulate": 50_000,
    "msg.upstream.count": 300,
    "article.read_user": 700,
    "article.share_user": 40,
    "article.like_user": 20,
    "api.callback.count": 2000,
    "api.callback.fail": 3,
    "api.callback.time_max_ms": 900,
    # split only (no day total, as the sync writes them): users per count_interval, per article
    "msg.upstream.dist": 40,
    "article.item.read_user": 300,
    "article.item.share_user": 30,
}
NO_TOTAL = {"msg.upstream.dist", "article.item.read_user", "article.item.share_user"}
OWN = {
    "msg.inbound": 280,
    "msg.inbound.users": 110,
    "menu.click": 150,
    "menu.view": 60,
    "keyword.hit": 90,
    "reply.sent": 30,
    "reply.users": 20,
    "reply.response.count": 18,
    "reply.response.seconds": 5400,
    "qr.scan": 25,
    "qr.subscribe": 9,
    "template.sent": 500,
    "template.delivered": 480,
    "template.failed": 20,
}
SPLITS = {
    "user.new": ["0", "1", "17", "30", "43", "57"],
    "menu.click": [f"V_BUTTON_{n}" for n in range(10)],
    "keyword.hit": [f"规则{n}" for n in range(10)],
    "qr.scan": [f"门店{n}" for n in range(5)],
    "msg.upstream.dist": ["1", "2", "3"],
}
#: per-article metrics: the articles of the last 7 days, two a day (14 read each day)
PER_ARTICLE = {"article.item.read_user", "article.item.share_user"}


def splits(metric: str, d: int) -> list[str]:
    if metric in PER_ARTICLE:
        return [f"{2_247_480_000 + d - back}_{index}" for back in range(7) for index in (1, 2)]
    return SPLITS.get(metric, [])


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=2_000_000)
    parser.add_argument("--quick", action="store_true", help="10x fewer messages")
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    if args.quick:
        args.messages //= 10
    return args


def wipe():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE insights_dailyfigure, insights_rollupday, insights_report, insights_syncday, "
            "insights_backfill, messaging_outboundmessage, "
            "messaging_inboundmessage, accounts_officialaccount_assigned_staff, accounts_officialaccount, "
            "accounts_historicalofficialaccount, accounts_entity, accounts_historicalentity "
            "RESTART IDENTITY CASCADE"
        )


def make_account(entity, n):
    from accounts.models import OfficialAccount

    return OfficialAccount.objects.create(
        entity=entity,
        name=f"基准{n}服务号",
        original_id=f"gh_{n:012x}",
        appid=f"wx{n:016x}",
        appsecret="s" * 32,
        server_token=f"token{n}",
        encoding_aes_key="a" * 43,
        account_type="service",
    )


def add_figures(account, first: datetime.date, days: int) -> int:
    from insights.models import DailyFigure, RollupDay, SyncDay
    from insights.wechat_sync import AREAS

    rows = []
    for d in range(days):
        day = first + datetime.timedelta(days=d)
        for source, values in (("wechat", WECHAT), ("own", OWN)):
            for metric, value in values.items():
                v = value + (d % 7) * 3 + (d if metric == "user.cumulate" else 0)
                if metric not in NO_TOTAL:
                    rows.append(DailyFigure(account=account, day=day, metric=metric, value=v, source=source))
                for i, dim in enumerate(splits(metric, d)):
                    rows.append(
                        DailyFigure(
                            account=account,
                            day=day,
                            metric=metric,
                            dimension=dim,
                            value=max(1, v // (i + 2)),
                            source=source,
                        )
                    )
    DailyFigure.objects.bulk_create(rows, batch_size=5000)
    # WeChat's days are synced (as the figures came from the sync): the pages' missing-days
    # read finds every (day, area) "ok"
    SyncDay.objects.bulk_create(
        [
            SyncDay(account=account, area=area, day=day, status=SyncDay.Status.OK)
            for d in range(days)
            for day in [first + datetime.timedelta(days=d)]
            for area, spec in AREAS.items()
            if day >= spec.first_day
        ],
        batch_size=5000,
    )
    RollupDay.objects.bulk_create(
        [
            RollupDay(
                day=first + datetime.timedelta(days=d),
                rolled_at=datetime.datetime.now(datetime.UTC),
                final=True,
            )
            for d in range(days)
        ],
        ignore_conflicts=True,
    )
    return len(rows)


def add_messages(account, count: int, days: int, end: datetime.date) -> None:
    """`count` messages (a tenth menu clicks) spread over `days` days up to `end`, by SQL."""
    from django.db import connection

    start = datetime.datetime.combine(
        end - datetime.timedelta(days=days), datetime.time(), tzinfo=datetime.UTC
    )
    seconds = days * 86400
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO messaging_inboundmessage (account_id, dedupe_key, openid, msg_type, event, content,
                sent_at, received_at, route, reply_type, reply_summary, reply_xml, processing_ms, raw)
            SELECT %s, 'b' || %s || '-' || g, 'oBench' || lpad((g %% 5000)::text, 22, '0'),
                CASE WHEN g %% 10 = 0 THEN 'event' ELSE 'text' END,
                CASE WHEN g %% 10 = 0 THEN 'CLICK' ELSE '' END,
                CASE WHEN g %% 10 = 0 THEN 'V_BUTTON_' || (g %% 7) ELSE '你好' END,
                %s + make_interval(secs => (g::bigint * %s / %s)),
                %s + make_interval(secs => (g::bigint * %s / %s)),
                'none', '', '', '', 0, '{}'::jsonb
            FROM generate_series(1, %s) g
            """,
            [account.pk, account.pk, start, seconds, count, start, seconds, count, count],
        )
        cursor.execute(
            """
            INSERT INTO messaging_outboundmessage (account_id, openid, msg_type, text, news_title,
                news_description, news_url, news_pic_url, image, media_id, kf_account, status, errmsg,
                explanation, attempts, created_at, sent_at)
            SELECT %s, 'oBench' || lpad((g %% 5000)::text, 22, '0'), 'text', '好的',
                '', '', '', '', '', '', '',
                'sent', '', '', 1, %s + make_interval(secs => (g::bigint * 100 * %s / %s) + 60),
                %s + make_interval(secs => (g::bigint * 100 * %s / %s) + 61)
            FROM generate_series(1, %s) g
            """,
            [account.pk, start, seconds, count, start, seconds, count, max(1, count // 100)],
        )
        # as autovacuum leaves them in production: statistics, and the visibility map that lets
        # the figures' covering indexes answer by index-only scans
        for table in (
            "messaging_inboundmessage",
            "messaging_outboundmessage",
            "insights_dailyfigure",
            "insights_syncday",
        ):
            cursor.execute(f"VACUUM ANALYZE {table}")


def measure(client, url: str, runs: int) -> tuple[float, float, float, int]:
    """Median wall, CPU (this process: Python's share, without PostgreSQL's) and SQL (the
    queries' round trips as Django times them: PostgreSQL's work and the wait for it)
    milliseconds, and the query count. Wall − CPU − SQL is the time spent waiting for a core."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times, cpus, sqls, queries = [], [], [], 0
    for n in range(runs + 1):
        with CaptureQueriesContext(connection) as ctx:
            t0, c0 = time.perf_counter(), time.process_time()
            response = client.get(url)
            if hasattr(response, "streaming_content"):
                b"".join(response.streaming_content)
            elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        assert response.status_code == 200, (url, response.status_code)
        if n:  # the first run warms the caches
            times.append(elapsed * 1000)
            cpus.append(cpu * 1000)
            sqls.append(sum(float(q["time"]) for q in ctx.captured_queries) * 1000)
        queries = len(ctx)
    return statistics.median(times), statistics.median(cpus), statistics.median(sqls), queries


def main() -> None:
    args = parse_args()
    ensure_database(DB_URL)
    setup_django()
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from accounts.models import Entity
    from insights import reports, rollups
    from insights.models import Report

    wipe()
    today = timezone.localdate()
    yesterday = today - datetime.timedelta(days=1)
    entity = Entity.objects.create(
        full_name="基准测试公司", short_name="基准", kind="enterprise", subtype="general_enterprise"
    )
    small_entity = Entity.objects.create(
        full_name="基准小公司", short_name="基准小", kind="enterprise", subtype="general_enterprise"
    )
    small, big = make_account(small_entity, 1), make_account(entity, 2)
    t0 = time.perf_counter()
    n_small = add_figures(small, yesterday - datetime.timedelta(days=29), 30)
    n_big = add_figures(big, yesterday - datetime.timedelta(days=3 * 365 - 1), 3 * 365)
    add_messages(small, 10_000, 30, today)
    add_messages(big, args.messages, 3 * 365, today)
    print(
        f"set-up: baseline {n_small:,} figures + 10,000 messages; big {n_big:,} figures + "
        f"{args.messages:,} messages ({time.perf_counter() - t0:.0f} s)"
    )

    admin, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(admin)
    year = f"start={yesterday - datetime.timedelta(days=364)}&end={yesterday}"
    pages = {
        "account page, last 30 days": lambda a: reverse("admin:insights_account", args=[a.pk]),
        "account page, a year": lambda a: reverse("admin:insights_account", args=[a.pk]) + "?" + year,
        "XLSX export, a year": lambda a: (
            reverse("admin:insights_account_export", args=[a.pk, "xlsx"]) + "?" + year
        ),
        "entity page, last 30 days": lambda a: reverse("admin:insights_entity", args=[a.entity_id]),
    }
    print(
        f"\n{'page':30} {'baseline ms':>12} {'big ms':>9} {'ratio':>6} {'cpu ms':>13} {'sql ms':>13}"
        f" {'queries':>9} {'load':>5}"
    )
    worst_ratio, worst_ms, same_queries = 0.0, 0.0, True
    for label, url in pages.items():
        base_ms, base_cpu, base_sql, base_q = measure(client, url(small), args.runs)
        big_ms, big_cpu, big_sql, big_q = measure(client, url(big), args.runs)
        ratio = big_ms / base_ms
        worst_ratio, worst_ms = max(worst_ratio, ratio), max(worst_ms, base_ms, big_ms)
        same_queries &= base_q == big_q
        print(
            f"{label:30} {base_ms:12.1f} {big_ms:9.1f} {ratio:6.2f} {base_cpu:6.0f} / {big_cpu:<5.0f}"
            f" {base_sql:6.0f} / {big_sql:<5.0f} {base_q:>4} / {big_q:<4} {os.getloadavg()[0]:5.1f}"
        )
    print(
        f"worst ratio {worst_ratio:.2f} (target ≤ 2), slowest {worst_ms:.0f} ms (target ≤ 300), "
        f"query counts {'equal' if same_queries else 'DIFFERENT'}; load average {os.getloadavg()[0]:.1f}"
    )

    # the monthly report of an entity with 10 accounts
    report_entity = Entity.objects.create(
        full_name="十个号的客户", short_name="十号客户", kind="enterprise", subtype="general_enterprise"
    )
    for n in range(10):
        add_figures(make_account(report_entity, 100 + n), yesterday - datetime.timedelta(days=364), 365)
    month = reports.previous_month(today)
    report = Report.objects.create(entity=report_entity, month=month)
    wall = time.perf_counter()
    cpu = time.process_time()
    done = reports.generate(report.pk)
    cpu = time.process_time() - cpu
    print(
        f"\nmonthly report, 10 accounts, {month:%Y-%m}: {cpu:.2f} s CPU (target ≤ 10), "
        f"{time.perf_counter() - wall:.2f} s wall, PDF {done.size / 1024:.0f} KiB"
    )

    t0 = time.perf_counter()
    rows = rollups.rollup_day(yesterday)
    elapsed = (time.perf_counter() - t0) * 1000
    print(f"our own figures of one day over the big log: {rows} rows in {elapsed:.0f} ms")


if __name__ == "__main__":
    main()
