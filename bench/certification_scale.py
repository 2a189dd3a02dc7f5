"""Benchmark: certification at scale — 100,000 orders across 20,000 accounts.

    .venv/bin/python bench/certification_scale.py           # 100,000 orders / 20,000 accounts
    .venv/bin/python bench/certification_scale.py --quick   # 10,000 orders / 2,000 accounts

Runs against its own PostgreSQL database (`BENCH_DATABASE_URL`, default
postgres://postgres@127.0.0.1:5432/wx_bench_cert, created and migrated if missing;
its certification and account rows are wiped at the start).

Two phases in the same run:
1. **baseline**: 100 orders, of which a fixed set is due (reminders of every milestone,
   rejected orders past their resubmission deadline);
2. **scale**: the same due set again, plus orders up to the full size that are not due.

In each phase it measures the daily reminder run (`reminders.send_due_reminders`) and
the timeout sweep (`certification.services.sweeps.orders_fail_timed_out`): wall time and SQL query count
(target: the count does not grow with the number of rows), and the order changelist
in the admin (median of several requests) for a superuser and for a Finance member
assigned to 10% of the accounts: response time and query count (target: time ratio
scale/baseline ≤ 3, query count equal).
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

from benchdb import ensure_database, setup_django

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wx_bench_cert")
os.environ["DATABASE_URL"] = DB_URL
os.environ.setdefault("TEST_REDIS_URL", "redis://127.0.0.1:6379/12")
os.environ["DJANGO_SETTINGS_MODULE"] = "wxadmin.settings.test"

DUE_PER_MILESTONE = 20  # the fixed due set: same work in both phases
BASELINE_ORDERS = 100
SH = datetime.timezone(datetime.timedelta(hours=8))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--quick", action="store_true", help="10x fewer rows")
    parser.add_argument("--requests", type=int, default=9, help="changelist requests per case")
    args = parser.parse_args()
    if args.quick:
        args.orders //= 10
        args.accounts //= 10
    return args


def wipe():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE certification_notification, certification_reminder, "
            "certification_orderevent, certification_orderdocument, certification_order, "
            "accounts_officialaccount_assigned_staff, accounts_officialaccount, "
            "accounts_historicalofficialaccount, accounts_entity, accounts_historicalentity "
            "RESTART IDENTITY CASCADE"
        )


class Builder:
    """Creates accounts and orders with bulk_create (no services: this is data loading)."""

    def __init__(self, today: datetime.date):
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group

        self.today = today
        self.rng = random.Random(42)
        user_model = get_user_model()
        self.superuser, _ = user_model.objects.get_or_create(
            username="bench-admin",
            defaults={"is_staff": True, "is_superuser": True, "email": "admin@example.com"},
        )
        self.superuser.set_password("bench-pw-123")
        self.superuser.save()
        self.finance, _ = user_model.objects.get_or_create(
            username="bench-finance", defaults={"is_staff": True, "email": "finance@example.com"}
        )
        self.finance.set_password("bench-pw-123")
        self.finance.save()
        self.finance.groups.add(Group.objects.get(name="Finance"))
        from certification.models import ReviewCompany

        self.companies = list(ReviewCompany.objects.all())
        self.accounts: list = []
        self.free_accounts: list = []  # accounts without an open order yet

    def add_accounts(self, count: int, *, finance_share: int = 10):
        import secrets

        from accounts.models import Entity, OfficialAccount

        start = len(self.accounts)
        entities = Entity.objects.bulk_create(
            [
                Entity(
                    full_name=f"基准测试公司{start + i}",
                    short_name=f"基准{start + i}",
                    kind="enterprise",
                    subtype="general_enterprise",
                    bank_name="招商银行",
                    bank_account_number="755900000000",
                )
                for i in range(max(1, count // 4))
            ],
            batch_size=2000,
        )
        accounts = []
        for i in range(count):
            n = start + i
            accounts.append(
                OfficialAccount(
                    entity=entities[i % len(entities)],
                    name=f"基准{n}服务号",
                    original_id=f"gh_{n:012x}",
                    appid=f"wx{n:016x}",
                    appsecret=secrets.token_hex(16),
                    server_token="benchtoken" + str(n),
                    encoding_aes_key="a" * 43,
                    account_type="service",
                )
            )
        created = OfficialAccount.objects.bulk_create(accounts, batch_size=2000)
        through = OfficialAccount.assigned_staff.through
        through.objects.bulk_create(
            [
                through(officialaccount_id=a.pk, user_id=self.finance.pk)
                for a in created
                if a.pk % finance_share == 0
            ],
            batch_size=5000,
        )
        self.accounts += created
        self.free_accounts += created

    def _order(self, account, **fields):
        from certification.models import Order

        base = {
            "account_id": account.pk,
            "kind": "initial",
            "status": "cancelled",
            "entity_snapshot": {
                "full_name": account.name,
                "kind": "enterprise",
                "subtype": "general_enterprise",
            },
            "account_name": account.name,
            "fee": Decimal("300.00"),
            "review_company": self.rng.choice(self.companies),
            "invoice_type": "vat_ordinary",
        }
        base.update(fields)
        return Order(**base)

    def due_set(self) -> list:
        """Orders due today: every reminder milestone, and rejected past the deadline."""
        today = self.today
        orders = []
        for _ in range(DUE_PER_MILESTONE):
            # annual review reminder: succeeded, reminder date today, still valid
            account = self.free_accounts.pop()
            valid = today + datetime.timedelta(days=80)
            account.certified_until = valid
            account.save(update_fields=["certified_until"])
            orders.append(
                self._order(
                    account,
                    status="succeeded",
                    valid_until=valid,
                    annual_review_remind_on=today - datetime.timedelta(days=5),
                    completed_at=self._at(today - datetime.timedelta(days=285)),
                    invoice_received_on=today,
                )
            )
            # resubmission reminder: rejected, deadline in 3 days (account keeps it open)
            account = self.free_accounts.pop()
            orders.append(
                self._order(
                    account,
                    status="rejected",
                    resubmission_deadline=today + datetime.timedelta(days=3),
                    first_rejected_at=self._at(today - datetime.timedelta(days=27)),
                )
            )
            # timeout: rejected, deadline passed yesterday
            account = self.free_accounts.pop()
            orders.append(
                self._order(
                    account,
                    status="rejected",
                    resubmission_deadline=today - datetime.timedelta(days=1),
                    first_rejected_at=self._at(today - datetime.timedelta(days=31)),
                )
            )
            # invoice request and expected-by reminders on completed orders
            account = self.free_accounts.pop()
            orders.append(
                self._order(
                    account,
                    status="failed",
                    failure_reason="not_registered",
                    invoice_type="none",
                    invoice_request_deadline=today + datetime.timedelta(days=2),
                    completed_at=self._at(today - datetime.timedelta(days=28)),
                )
            )
            orders.append(
                self._order(
                    account,
                    status="succeeded",
                    invoice_expected_by=today + datetime.timedelta(days=4),
                    completed_at=self._at(today - datetime.timedelta(days=76)),
                )
            )
        return orders

    def _at(self, day: datetime.date) -> datetime.datetime:
        return datetime.datetime.combine(day, datetime.time(10, 0), tzinfo=SH)

    def filler(self, count: int) -> list:
        """Orders that are not due: completed long ago, or open with far deadlines."""
        today = self.today
        orders = []
        statuses = ["succeeded", "failed", "cancelled", "succeeded", "in_review"]
        for i in range(count):
            account = self.accounts[i % len(self.accounts)]
            status = statuses[i % len(statuses)]
            if status == "in_review":
                if not self.free_accounts:
                    status = "cancelled"
                else:
                    account = self.free_accounts.pop()
            completed = self._at(today - datetime.timedelta(days=200 + i % 400))
            fields = {
                "status": status,
                "paid_at": completed - datetime.timedelta(days=20),
                "invoice_received_on": today - datetime.timedelta(days=10),
            }
            if status in ("succeeded", "failed"):
                fields["completed_at"] = completed
                fields["invoice_request_deadline"] = completed.date() + datetime.timedelta(30)
                fields["invoice_expected_by"] = completed.date() + datetime.timedelta(80)
            if status == "succeeded":
                fields["valid_until"] = completed.date() + datetime.timedelta(days=365)
                fields["annual_review_remind_on"] = completed.date() + datetime.timedelta(275)
            if status == "failed":
                fields["failure_reason"] = "operator_id_wrong"
            if status == "in_review":
                fields["review_due_on"] = today + datetime.timedelta(days=5 + i % 20)
                fields["submitted_at"] = self._at(today - datetime.timedelta(days=3))
            orders.append(self._order(account, **fields))
        return orders

    def insert(self, orders: list, batch: int = 5000) -> None:
        from certification.models import Order

        for start in range(0, len(orders), batch):
            Order.objects.bulk_create(orders[start : start + batch], batch_size=batch)


def measure(fn):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        started = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - started
    return elapsed, len(ctx.captured_queries), result


def changelist(client, requests: int) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = "/admin/certification/order/"
    client.get(url)  # warm-up (templates, connections)
    client.get(url)
    times, queries = [], 0
    for _ in range(requests):
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
        queries = len(ctx.captured_queries)
    return statistics.median(times), queries


def reset_due(due_ids: list[int], timed_out_ids: list[int]) -> None:
    """Undo what a phase's runs did so that the scale phase has the same work."""
    from certification.models import Notification, Order, OrderEvent, Reminder

    Reminder.objects.all().delete()
    Notification.objects.all().delete()
    OrderEvent.objects.filter(order_id__in=due_ids).delete()
    Order.objects.filter(pk__in=timed_out_ids).update(status="rejected", failure_reason="", completed_at=None)


def run_phase(label, builder, args, now, clients):
    from certification import reminders
    from certification.services.sweeps import orders_fail_timed_out

    # Warm-up runs on a day when nothing is due (imports, translations, connections),
    # so that the measured runs compare work, not a cold start.
    quiet = now - datetime.timedelta(days=3650)
    reminders.send_due_reminders(now=quiet)
    orders_fail_timed_out(now=quiet)
    t_rem, q_rem, sent = measure(lambda: reminders.send_due_reminders(now=now))
    t_swp, q_swp, failed = measure(lambda: orders_fail_timed_out(now=now))
    # a second run does nothing (exactly once)
    _, q_rem2, sent2 = measure(lambda: reminders.send_due_reminders(now=now))
    results = {
        "reminders": (t_rem, q_rem, sum(sent.values()), sum(sent2.values()), q_rem2),
        "sweep": (t_swp, q_swp, failed),
    }
    for name, client in clients.items():
        results[f"changelist_{name}"] = changelist(client, args.requests)
    return results


def main():
    args = parse_args()
    ensure_database(DB_URL)
    setup_django()
    from django.core import mail
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from certification.models import Order

    setup_test_environment()  # locmem mail, test client allowed hosts
    connection.force_debug_cursor = False
    print(f"database {DB_URL}")
    wipe()
    now = datetime.datetime(2026, 11, 30, 9, 0, tzinfo=SH)
    today = now.date()
    builder = Builder(today)
    clients = {}
    for name, user in (("superuser", builder.superuser), ("finance", builder.finance)):
        client = Client()
        client.force_login(user)
        clients[name] = client

    # --- baseline ---------------------------------------------------------------------------
    started = time.perf_counter()
    # Finance is assigned to every baseline account (a full page of orders to render, as
    # at scale) and to every 10th account added later.
    builder.add_accounts(min(args.accounts, 400), finance_share=1)
    due = builder.due_set()
    builder.insert(due + builder.filler(BASELINE_ORDERS - len(due)))
    print(f"baseline data: {Order.objects.count()} orders ({time.perf_counter() - started:.1f}s)")
    base = run_phase("baseline", builder, args, now, clients)
    due_ids = [o.pk for o in due]
    timed_out = list(
        Order.objects.filter(pk__in=due_ids, failure_reason="timeout").values_list("pk", flat=True)
    )
    reset_due(due_ids, timed_out)
    mail.outbox = []

    # --- scale --------------------------------------------------------------------------------
    started = time.perf_counter()
    builder.add_accounts(args.accounts - len(builder.accounts))
    remaining = args.orders - Order.objects.count()
    chunk = 20_000
    while remaining > 0:
        size = min(chunk, remaining)
        builder.insert(builder.filler(size))
        remaining -= size
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"scale data: {Order.objects.count()} orders, {len(builder.accounts)} accounts "
        f"({time.perf_counter() - started:.1f}s)"
    )
    scale = run_phase("scale", builder, args, now, clients)

    # --- report -------------------------------------------------------------------------------
    print()
    print(f"{'measure':<34}{'baseline (100)':>18}{'scale':>18}{'ratio':>10}")
    t0, q0, n0, again0, qa0 = base["reminders"]
    t1, q1, n1, again1, qa1 = scale["reminders"]
    print(f"{'reminder run: time':<34}{t0 * 1000:>15.1f} ms{t1 * 1000:>15.1f} ms{t1 / t0:>10.2f}")
    print(f"{'reminder run: SQL queries':<34}{q0:>18}{q1:>18}{q1 / q0:>10.2f}")
    print(f"{'reminder run: orders reminded':<34}{n0:>18}{n1:>18}")
    print(f"{'second run: reminded / queries':<34}{f'{again0} / {qa0}':>18}{f'{again1} / {qa1}':>18}")
    t0, q0, f0 = base["sweep"]
    t1, q1, f1 = scale["sweep"]
    print(f"{'timeout sweep: time':<34}{t0 * 1000:>15.1f} ms{t1 * 1000:>15.1f} ms{t1 / t0:>10.2f}")
    print(f"{'timeout sweep: SQL queries':<34}{q0:>18}{q1:>18}{q1 / q0:>10.2f}")
    print(f"{'timeout sweep: orders failed':<34}{f0:>18}{f1:>18}")
    verdicts = []
    for name in clients:
        tb, qb = base[f"changelist_{name}"]
        ts, qs = scale[f"changelist_{name}"]
        print(
            f"{f'changelist ({name}): median':<34}{tb * 1000:>15.1f} ms{ts * 1000:>15.1f} ms{ts / tb:>10.2f}"
        )
        print(f"{f'changelist ({name}): queries':<34}{qb:>18}{qs:>18}")
        verdicts.append(ts / tb <= 3 and qb == qs)
    bounded = base["reminders"][1] == scale["reminders"][1] and base["sweep"][1] == scale["sweep"][1]
    print()
    print(f"queries bounded (equal at 100 and {Order.objects.count()} rows): {'yes' if bounded else 'NO'}")
    print(f"changelist target (ratio <= 3, equal queries): {'met' if all(verdicts) else 'NOT met'}")


if __name__ == "__main__":
    main()
