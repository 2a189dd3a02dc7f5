"""Benchmark: the conversation workspace's reads on a large message log.

    .venv/bin/python bench/conversation_list.py            # 200,000 inbound rows, 20,000 users
    .venv/bin/python bench/conversation_list.py --quick    # 20,000 rows, 2,000 users

Runs against its own PostgreSQL database (`BENCH_DATABASE_URL`, default
postgres://postgres@127.0.0.1:5432/wx_bench_conversations, created and migrated if
missing; its account and message rows are wiped at the start).

Two phases in the same run, on 100 accounts:
1. **baseline**: 1,000 inbound messages from 200 users, half of them answered;
2. **scale**: the log grown to the full size (a third of it older than the list's 7 days),
   with the same share answered.

Each phase measures, as median of several runs with their SQL query counts: the list's first
page (count + 50 rows, for a superuser and for an operator assigned to 10 accounts), the
dashboard's "waiting for an answer" count, and one open conversation's poll (thread + window).
It prints the figures and the scale/baseline ratio of each.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import statistics
import sys
import time
from pathlib import Path

import benchdb
from benchdb import ensure_database, setup_django

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wx_bench_conversations")
os.environ["DATABASE_URL"] = DB_URL
os.environ.setdefault("TEST_REDIS_URL", "redis://127.0.0.1:6379/12")
os.environ["DJANGO_SETTINGS_MODULE"] = "wxadmin.settings.test"

ACCOUNTS = 100
BASELINE_ROWS, BASELINE_USERS = 1_000, 200


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--quick", action="store_true", help="10x fewer rows")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if args.quick:
        args.rows //= 10
        args.users //= 10
    return args


def add_messages(accounts, *, rows: int, users: int, start_at: int, now, rng) -> None:
    """`rows` inbound text messages from `users` users spread over 10 days (a third older
    than the list's 7), and a reply after the last message of every other user."""
    from messaging.conversations.models import OutboundMessage
    from messaging.models import InboundMessage

    batch, last = [], {}
    for i in range(rows):
        user = rng.randrange(users)
        account = accounts[user % len(accounts)]
        at = now - datetime.timedelta(seconds=rng.randrange(10 * 24 * 3600))
        openid = f"oBench{user:020d}"
        batch.append(
            InboundMessage(
                account=account,
                dedupe_key=f"b{start_at + i}",
                openid=openid,
                msg_type="text",
                content="你好",
                sent_at=at,
                received_at=at,
            )
        )
        key = (account.pk, openid)
        last[key] = max(last.get(key, at), at)
        if len(batch) == 5000:
            InboundMessage.objects.bulk_create(batch)
            batch = []
    InboundMessage.objects.bulk_create(batch)
    OutboundMessage.objects.bulk_create(
        [
            OutboundMessage(
                account_id=account_id,
                openid=openid,
                msg_type="text",
                text="好的",
                status="sent",
                created_at=at + datetime.timedelta(minutes=5),
            )
            for n, ((account_id, openid), at) in enumerate(sorted(last.items()))
            if n % 2 == 0
        ],
        batch_size=5000,
    )
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE messaging_inboundmessage; ANALYZE messaging_outboundmessage")


def measure(label: str, func, runs: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times = []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            func()
            times.append((time.perf_counter() - started) * 1000)
    return {"label": label, "ms": statistics.median(times), "queries": len(queries)}


def phase(accounts, admin, operator, runs: int) -> list[dict]:
    from django.core.paginator import Paginator

    from messaging.conversations import selectors
    from messaging.models import InboundMessage

    def first_page(user):
        def run():
            page = Paginator(selectors.conversations(user=user), 50).get_page(1)
            selectors.with_accounts(list(page.object_list))
            return page.paginator.count

        return run

    busiest = InboundMessage.objects.values("account_id", "openid").order_by("-received_at").first()
    account = next(a for a in accounts if a.pk == busiest["account_id"])

    def poll():
        selectors.thread(account=account, openid=busiest["openid"])
        selectors.reply_window(account=account, openid=busiest["openid"]).as_dict()

    return [
        measure("list, first page (superuser)", first_page(admin), runs),
        measure("list, first page (operator, 10 accounts)", first_page(operator), runs),
        measure("dashboard: waiting for an answer", lambda: selectors.unanswered_count(user=admin), runs),
        measure("one conversation's poll", poll, runs),
    ]


def main():
    args = parse_args()
    ensure_database(DB_URL)
    setup_django()
    from django.utils import timezone

    benchdb.wipe("messaging_outboundmessage", "messaging_inboundmessage")
    rng = random.Random(15)
    now = timezone.now()
    accounts, admin, operator = benchdb.make_accounts(ACCOUNTS, operator_accounts=10)
    add_messages(accounts, rows=BASELINE_ROWS, users=BASELINE_USERS, start_at=0, now=now, rng=rng)
    baseline = phase(accounts, admin, operator, args.runs)
    started = time.perf_counter()
    add_messages(
        accounts, rows=args.rows - BASELINE_ROWS, users=args.users, start_at=BASELINE_ROWS, now=now, rng=rng
    )
    print(
        f"loaded {args.rows:,} inbound rows from ~{args.users:,} users on {ACCOUNTS} accounts "
        f"in {time.perf_counter() - started:.1f} s"
    )
    scale = phase(accounts, admin, operator, args.runs)
    print(f"{'read':45} {'baseline':>18} {'scale':>18} {'ratio':>7}")
    for base, big in zip(baseline, scale, strict=True):
        print(
            f"{base['label']:45} {base['ms']:9.1f} ms {base['queries']:2d} q "
            f"{big['ms']:9.1f} ms {big['queries']:2d} q {big['ms'] / base['ms']:7.1f}"
        )


if __name__ == "__main__":
    main()
