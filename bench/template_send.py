"""Benchmark: a template send to N recipients (default 10,000) through the sandbox.

    .venv/bin/python bench/template_send.py                      # 10,000 rows, 50 ms latency
    .venv/bin/python bench/template_send.py --rows 2000 --latency-ms 20 --concurrency 8

All on this machine, in one process: the sandbox on loopback with ``--latency-ms`` per call,
one account with one template; a baseline of bare message/template/send calls from
``--concurrency`` threads (the ceiling the runner can reach: concurrency / latency); then a
CSV send of ``--rows`` recipients through `notifications.services.template_send` and
`run_send` (claims, intent rows, bulk updates, quota counter) with the same concurrency.
Prints rows/s, the bare call rate, the ratio (target ≥ 0.8) and the peak RSS.
Database: `BENCH_DATABASE_URL` (default postgres://postgres@127.0.0.1:5432/wx_bench_templates,
created if missing, migrated); Redis: `BENCH_REDIS_URL` (default redis://127.0.0.1:6379/9).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchdb import ensure_database

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wx_bench_templates")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--baseline-calls", type=int, default=1000)
    args = parser.parse_args()

    ensure_database(DB_URL)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="wxadmin.settings.test", DATABASE_URL=DB_URL, TEST_REDIS_URL=REDIS_URL
    )
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()

    from accounts.models import Entity, OfficialAccount
    from accounts.tests.factories import OfficialAccountFactory
    from accounts.wechat_api import client_for
    from notifications import services
    from notifications.models import Delivery, Send, Template
    from wechat.api import templates as wx
    from wechat_sandbox import Sandbox

    sandbox = Sandbox(latency_ms=args.latency_ms).start(host="127.0.0.1", port=0)
    settings.WECHAT_API_BASE = sandbox.base_url
    settings.NOTIFICATIONS_CONCURRENCY = args.concurrency
    settings.NOTIFICATIONS_BATCH_SIZE = max(200, args.concurrency * 10)
    # a fresh start on every run (the factories' names restart at 0 in each process)
    Send.objects.all().delete()
    OfficialAccount.objects.all().delete()
    Entity.objects.all().delete()
    account = OfficialAccountFactory()
    sandbox.register_app(account.appid, str(account.appsecret))
    client = client_for(account)
    wx.add_template(client, "OPENTM200000001")
    services.templates_sync(account=account, by=None)
    template = Template.objects.get(account=account)
    data = {"character_string1": "SN-1", "thing2": "保温杯", "time3": "15:01"}

    started = time.perf_counter()
    with ThreadPoolExecutor(args.concurrency) as pool:
        list(
            pool.map(
                lambda n: wx.send(
                    client, touser=f"oBase{n:024d}", template_id=template.template_id, data=data
                ),
                range(args.baseline_calls),
            )
        )
    bare = args.baseline_calls / (time.perf_counter() - started)
    ceiling = args.concurrency * 1000 / args.latency_ms if args.latency_ms else float("inf")

    rows = [(n + 2, f"oUser{n:024d}", data) for n in range(args.rows)]
    started = time.perf_counter()
    send = services.template_send(account=account, template=template, rows=rows, by=None)
    created = time.perf_counter() - started
    while services.run_send(send.pk, max_seconds=3600) != "completed":
        pass
    elapsed = time.perf_counter() - started
    send.refresh_from_db()
    rate = args.rows / elapsed
    sent_twice = args.rows - len(set(Delivery.objects.filter(send=send).values_list("msgid", flat=True)))
    print(f"rows {args.rows}, latency {args.latency_ms} ms, concurrency {args.concurrency}")
    print(f"ceiling (concurrency / latency): {ceiling:.0f} calls/s")
    print(f"baseline, bare sandbox calls:    {bare:.0f} calls/s")
    print(f"send (queue {created:.2f} s + run): {rate:.0f} rows/s in {elapsed:.1f} s")
    print(f"sent {send.sent}, failed {send.failed}")
    print(f"ratio to the bare call rate: {rate / bare:.2f} (target >= 0.8); duplicate msgids: {sent_twice}")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    sandbox.stop()


if __name__ == "__main__":
    main()
