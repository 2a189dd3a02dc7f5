"""Benchmark: a template send to N recipients (default 10,000) through the sandbox.

    .venv/bin/python bench/template_send.py                      # 10,000 rows, 50 ms latency
    .venv/bin/python bench/template_send.py --rows 100000        # issue 26's size
    .venv/bin/python bench/template_send.py --rows 2000 --latency-ms 20 --concurrency 8

All on this machine: the sandbox in a process of its own (so that its threads do not share
the runner's interpreter lock) on loopback with ``--latency-ms`` per call, one account with
one template. The ceiling is what the configured concurrency allows against that latency
(``--concurrency`` / latency: issue 26's reference); a baseline of bare message/template/send
calls from as many threads shows what this machine reaches. Then a CSV send of ``--rows``
recipients through `notifications.services.template_send` and `run_send` (claims, intent rows,
bulk updates, quota counter) with the same concurrency.
Prints rows/s, the ratio to the ceiling (target ≥ 0.8) and to the bare calls, the resident
memory at the start and the end of sending and its peak (flat: rows are claimed in batches),
and duplicate msgids (0).
Database: `BENCH_DATABASE_URL` (default postgres://postgres@127.0.0.1:5432/wx_bench_templates,
created if missing, migrated); Redis: `BENCH_REDIS_URL` (default redis://127.0.0.1:6379/9).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchdb import ensure_database

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wx_bench_templates")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")


def serve_sandbox(latency_ms: int, appid: str, secret: str, out) -> None:
    """The sandbox in this child process, one account registered; its URL goes to `out`."""
    from wechat_sandbox import Sandbox

    # WeChat's 100,000 a day would stop the largest run (the baseline's calls count too)
    quotas = {"/cgi-bin/message/template/send": 10_000_000}
    sandbox = Sandbox(latency_ms=latency_ms, quotas=quotas).start(host="127.0.0.1", port=0)
    sandbox.register_app(appid, secret)
    out.put(sandbox.base_url)
    threading.Event().wait()  # until terminated


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


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

    settings.NOTIFICATIONS_CONCURRENCY = args.concurrency
    settings.NOTIFICATIONS_BATCH_SIZE = max(200, args.concurrency * 10)
    settings.NOTIFICATIONS_DAILY_QUOTA = 10_000_000  # our own counter, likewise
    # a fresh start on every run (the factories' names restart at 0 in each process)
    Send.objects.all().delete()
    OfficialAccount.objects.all().delete()
    Entity.objects.all().delete()
    account = OfficialAccountFactory()
    ctx = mp.get_context("spawn")
    urls = ctx.Queue()
    sandbox = ctx.Process(
        target=serve_sandbox, args=(args.latency_ms, account.appid, str(account.appsecret), urls), daemon=True
    )
    sandbox.start()
    settings.WECHAT_API_BASE = urls.get(timeout=60)
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
    del rows
    samples: list[float] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(1.0):
            samples.append(rss_mb())

    sampler = threading.Thread(target=sample, daemon=True)
    rss_start = rss_mb()
    sampler.start()
    running = time.perf_counter()
    while (outcome := services.run_send(send.pk, max_seconds=3600)) != "completed":
        if outcome != "sending":
            raise SystemExit(f"the send stopped: {outcome}")
    done.set()
    sampler.join()
    rss_end = rss_mb()
    elapsed = time.perf_counter() - started
    sending = time.perf_counter() - running
    send.refresh_from_db()
    rate = args.rows / sending
    sent_twice = args.rows - len(set(Delivery.objects.filter(send=send).values_list("msgid", flat=True)))
    print(
        f"rows {args.rows}, latency {args.latency_ms} ms, concurrency {args.concurrency}, "
        f"batch {settings.NOTIFICATIONS_BATCH_SIZE}, load average {os.getloadavg()[0]:.2f}"
    )
    print(f"ceiling (concurrency / latency): {ceiling:.0f} calls/s")
    print(f"baseline, bare sandbox calls:    {bare:.0f} calls/s")
    print(f"queueing the send (rows checked, delivery rows written): {created:.1f} s")
    print(f"sending: {rate:.0f} rows/s in {sending:.1f} s ({args.rows / elapsed:.0f} rows/s with queueing)")
    print(f"sent {send.sent}, failed {send.failed}, duplicate msgids: {sent_twice}")
    print(f"ratio to the ceiling: {rate / ceiling:.2f} (target >= 0.8); to the bare calls: {rate / bare:.2f}")
    print(
        f"RSS at the start of sending {rss_start:.0f} MB, at the end {rss_end:.0f} MB, "
        f"highest while sending {max(samples, default=rss_end):.0f} MB; "
        f"process peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )
    sandbox.terminate()


if __name__ == "__main__":
    main()
