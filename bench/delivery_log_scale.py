"""Benchmark: the template-message delivery log at 10,000 and 5,000,000 rows (issue 26).

    .venv/bin/python bench/delivery_log_scale.py               # 10,000 and 5,000,000 rows
    .venv/bin/python bench/delivery_log_scale.py --quick       # 10,000 and 500,000 rows
    .venv/bin/python bench/delivery_log_scale.py --keep        # keep the databases afterwards
    .venv/bin/python bench/delivery_log_scale.py --reuse       # pages again on a --keep run's databases

PostgreSQL only. Two databases of its own on the server of `BENCH_DATABASE_URL` (default
postgres://postgres@127.0.0.1:5432/wxadmin_bench_deliveries): `…_small` holds 10,000
deliveries, `…_large` 5,000,000; both created, migrated and wiped at the start, dropped at the
end unless --keep. Redis: `BENCH_REDIS_URL` (default redis://127.0.0.1:6379/9; not emptied).

1. Five accounts, 100 sends spread over them, an Operator assigned to two accounts (the scoped
   path every Operator's page takes) and a superuser.
2. Fills the log with one INSERT … SELECT FROM generate_series per size: 200,000 followers,
   statuses as a month of sending leaves them (90 % delivered, 5 % sent, 3 % user block, 1 %
   system failure, 1 % refused), over the last 60 days; then VACUUM ANALYZE as autovacuum would.
3. Opens each page of the delivery log — filtered by status, searched by OpenID, both, and
   unfiltered — as the Operator and as the superuser, with an in-process client: the two
   databases take turns request by request (other load on the machine falls on both alike), two
   warm-ups, then the median of --requests; counts the SQL queries and the rows shown (in the
   HTML: the test client's template instrumentation, which copies the context at each of the
   page's ~200 template renders, added a third to every page's time) and measures the
   request's own CPU time beside its wall time (on a loaded machine the wall time is mostly
   waiting for a core).
4. Prints each page's time at both sizes and the ratio. Targets (issue 26): ≤ 2× the
   10,000-row time and ≤ 300 ms at 5,000,000, queries equal.
5. Then the pruning (unless --no-prune): `deliveries_prune` with its scheduled batch on the
   large database, with 40 % of the rows past the retention: rows/s and the longest batch.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wxadmin_bench_deliveries")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
os.environ["TEST_REDIS_URL"] = REDIS_URL
os.environ["DJANGO_SETTINGS_MODULE"] = "wxadmin.settings.test"
os.environ.setdefault("CONN_MAX_AGE", "60")  # persistent connections, as behind gunicorn
SERVER_URL, _NAME = DB_URL.rsplit("/", 1)
SMALL_DB, LARGE_DB = f"{_NAME}_small", f"{_NAME}_large"
os.environ["DATABASE_URL"] = f"{SERVER_URL}/{LARGE_DB}"

ACCOUNTS = 5
SENDS = 100
FOLLOWERS = 200_000
SEARCHED = "oBenchUser000000000000000007"  # follower 7: about one row in 200,000

FILL = f"""
WITH s AS (
  SELECT array_agg(id ORDER BY id) AS ids, array_agg(account_id ORDER BY id) AS accounts,
         array_agg(wechat_template_id ORDER BY id) AS templates
  FROM notifications_send
)
INSERT INTO notifications_delivery
  (send_id, account_id, template_id, openid, row_number, data, status, msgid, errcode, error,
   created_at, called_at, finished_at)
SELECT s.ids[1 + g * {SENDS} / %(size)s], s.accounts[1 + g * {SENDS} / %(size)s],
       s.templates[1 + g * {SENDS} / %(size)s],
       'oBenchUser' || lpad((g %% {FOLLOWERS})::text, 18, '0'),
       NULL, '{{"character_string1": "SN-1", "thing2": "保温杯"}}'::jsonb,
       CASE WHEN g %% 100 < 90 THEN 'delivered' WHEN g %% 100 < 95 THEN 'sent'
            WHEN g %% 100 < 98 THEN 'user_block' WHEN g %% 100 < 99 THEN 'system_failed'
            ELSE 'refused' END,
       3000000000 + g,
       CASE WHEN g %% 100 = 99 THEN 43004 END,
       CASE WHEN g %% 100 = 99 THEN 'the user unsubscribed' ELSE '' END,
       now() - interval '60 days' + interval '60 days' * (g::float8 / %(size)s),
       now() - interval '60 days' + interval '60 days' * (g::float8 / %(size)s),
       now() - interval '60 days' + interval '60 days' * (g::float8 / %(size)s) + interval '3 seconds'
FROM s, generate_series(0, %(size)s - 1) AS g
"""


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="500,000 instead of 5,000,000 rows")
    parser.add_argument("--requests", type=int, default=5, help="timed requests per page")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--no-prune", action="store_true")
    return parser.parse_args()


def admin_connection():
    import psycopg

    return psycopg.connect(f"{SERVER_URL}/postgres", autocommit=True)


def use_database(name: str) -> None:
    from django.db import connections

    connections.close_all()
    connections["default"].settings_dict["NAME"] = name


def sql(statement: str, params=None) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def build(size: int) -> float:
    """Accounts, sends, staff and `size` deliveries in the current database; seconds taken."""
    from accounts.tests.factories import EntityFactory, OfficialAccountFactory, UserFactory
    from notifications.models import Send, Template

    sql(
        "TRUNCATE notifications_delivery, notifications_send, notifications_template, "
        "accounts_officialaccount_assigned_staff, accounts_officialaccount, "
        "accounts_historicalofficialaccount, accounts_entity, accounts_historicalentity, "
        "auth_user CASCADE"
    )
    operator = UserFactory(username="bench-operator", groups=["Operators"])
    UserFactory(username="bench-root", is_superuser=True, is_staff=True)
    accounts = [
        OfficialAccountFactory(name=f"bench {n}", entity=EntityFactory(full_name=f"bench entity {n}"))
        for n in range(ACCOUNTS)
    ]
    for account in accounts[:2]:
        account.assigned_staff.add(operator)
    for n in range(SENDS):
        account = accounts[n % ACCOUNTS]
        template = Template.objects.get_or_create(
            account=account, template_id=f"tpl{account.pk}", defaults={"title": "订单发货通知"}
        )[0]
        Send.objects.create(
            account=account,
            template=template,
            wechat_template_id=template.template_id,
            template_title=template.title,
            target_kind="csv",
            status="completed",
            total=size // SENDS,
        )
    started = time.perf_counter()
    sql(FILL, {"size": size})
    sql("VACUUM ANALYZE notifications_delivery")
    return time.perf_counter() - started


def pages() -> list[tuple[str, str, str]]:
    base = "/admin/notifications/delivery/"
    return [
        ("status filter (user block)", "operator", f"{base}?status=user_block"),
        ("status filter (delivered)", "operator", f"{base}?status=delivered"),
        ("search by OpenID", "operator", f"{base}?q={SEARCHED}"),
        ("status + OpenID", "operator", f"{base}?status=delivered&q={SEARCHED}"),
        ("unfiltered", "operator", base),
        ("status filter, superuser", "root", f"{base}?status=user_block"),
        ("search by OpenID, superuser", "root", f"{base}?q={SEARCHED}"),
        ("sends list", "operator", "/admin/notifications/send/"),
    ]


def clients_for() -> dict:
    from django.contrib.auth.models import User
    from django.test import Client

    clients: dict = {}
    for name in (SMALL_DB, LARGE_DB):
        use_database(name)
        clients[name] = {}
        for who, username in (("operator", "bench-operator"), ("root", "bench-root")):
            client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
            client.force_login(User.objects.get(username=username))
            clients[name][who] = client
    return clients


def rows_shown(response) -> int:
    """Rows of the change list's table (a cell class Unfold gives every row's first column)."""
    content = response.content.decode()
    return max(content.count('class="field-openid'), content.count('class="field-__str__'))


def open_page(clients: dict, url: str, requests: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times: dict[str, list[float]] = {SMALL_DB: [], LARGE_DB: []}
    cpu: dict[str, list[float]] = {SMALL_DB: [], LARGE_DB: []}
    found: dict[str, tuple[int, int]] = {}
    for _ in range(requests):
        for name in (SMALL_DB, LARGE_DB):
            use_database(name)
            assert clients[name].get(url).status_code == 200, url  # re-opens the connection, warms
            with CaptureQueriesContext(connection) as ctx:
                started, cpu_started = time.perf_counter(), time.process_time()
                response = clients[name].get(url)
                times[name].append(time.perf_counter() - started)
                cpu[name].append(time.process_time() - cpu_started)
            assert response.status_code == 200, (url, response.status_code)
            found[name] = (len(ctx.captured_queries), rows_shown(response))
    return {
        name: (statistics.median(times[name]), *found[name], statistics.median(cpu[name])) for name in times
    }


def prune(size: int) -> None:
    from django.utils import timezone

    from notifications.models import Delivery
    from notifications.retention import deliveries_prune

    use_database(LARGE_DB)
    now = timezone.now() + datetime.timedelta(days=180 - 36)  # 24 of the 60 days are past 180
    expected = Delivery.objects.filter(created_at__lt=now - datetime.timedelta(days=180)).count()
    longest = 0.0
    deleted = 0
    started = time.perf_counter()
    while True:
        began = time.perf_counter()
        count = deliveries_prune(batch_size=5000, now=now, max_batches=1)
        longest = max(longest, time.perf_counter() - began)
        deleted += count
        if not count:
            break
    elapsed = time.perf_counter() - started
    print(
        f"pruning at {size:,} rows: {deleted:,} deleted of {expected:,} past the retention in "
        f"{elapsed:.1f} s ({deleted / elapsed:,.0f} rows/s), longest batch of 5,000 {longest * 1000:.0f} ms"
    )


def main() -> int:
    args = parse_args()
    large = 500_000 if args.quick else 5_000_000
    if not args.reuse:
        with admin_connection() as conn:
            for name in (SMALL_DB, LARGE_DB):
                if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                    conn.execute(f'CREATE DATABASE "{name}"')
    import django

    django.setup()
    from django.core.management import call_command

    if not args.reuse:
        for name, size in ((SMALL_DB, 10_000), (LARGE_DB, large)):
            use_database(name)
            call_command("migrate", verbosity=0, interactive=False)
            print(f"{name}: {size:,} deliveries written and analysed in {build(size):.1f} s", flush=True)
    clients = clients_for()
    print(f"pages (median of {args.requests}; load average {os.getloadavg()[0]:.2f}):")
    print(
        f"  {'page':32s} {'10,000':>10s} {f'{large:,}':>12s} {'ratio':>6s}  queries  rows shown"
        "  CPU ms (10,000 / large)"
    )
    worst_ratio = worst_time = 0.0
    for label, who, url in pages():
        result = open_page({name: clients[name][who] for name in clients}, url, args.requests)
        small_t, small_q, small_rows, small_cpu = result[SMALL_DB]
        large_t, large_q, large_rows, large_cpu = result[LARGE_DB]
        ratio = large_t / small_t
        worst_ratio, worst_time = max(worst_ratio, ratio), max(worst_time, large_t)
        print(
            f"  {label:32s} {small_t * 1000:8.1f} ms {large_t * 1000:10.1f} ms {ratio:6.2f}  "
            f"{small_q:>3d} / {large_q:<3d}  {small_rows:>3d} / {large_rows:<3d}  "
            f"{small_cpu * 1000:5.0f} / {large_cpu * 1000:.0f}"
        )
    print(
        f"  worst ratio {worst_ratio:.2f} (target ≤ 2), "
        f"slowest at {large:,}: {worst_time * 1000:.0f} ms (target ≤ 300)"
    )
    if not args.no_prune:
        prune(large)
    if not args.keep:
        from django.db import connections

        connections.close_all()
        with admin_connection() as conn:
            for name in (SMALL_DB, LARGE_DB):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
