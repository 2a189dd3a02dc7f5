"""Benchmark: publish one menu to N sandbox accounts through Celery (2 worker processes).

    .venv/bin/python bench/menu_fanout.py                 # 500 accounts
    .venv/bin/python bench/menu_fanout.py --accounts 100  # or --quick (100)
    .venv/bin/python bench/menu_fanout.py --fail-rate 0.1 # with fault injection

What it does, all on this machine:
1. starts the WeChat sandbox in a child process on a free loopback port, N accounts;
2. baseline: the sandbox's raw menu/create throughput — tokens fetched first, then
   N menu/create calls from as many client threads as the workers run tasks at once;
3. creates N official accounts in the database (PostgreSQL, `BENCH_DATABASE_URL`,
   default postgres://postgres@127.0.0.1:5432/wx_bench_menus, created if missing);
4. warms the token store (in production beat keeps tokens fresh ahead of expiry);
5. starts 2 Celery worker processes (thread pool of `--threads` each: the task waits
   on HTTP and the database) on a private Redis database
   (`BENCH_REDIS_URL`, default redis://127.0.0.1:6379/9, flushed) and runs
   `menus.services.fanout_start` for all accounts, timing until none is pending.

Prints wall time, accounts/s, failures, the baseline and the ratio (target ≥ 0.5,
failures 0 without fault injection). The global rate limit is switched off
(MENU_PUBLISH_RATE_PER_SECOND=0) unless `--rate` is given.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

from _servers import cpu_seconds
from benchdb import ensure_database

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wx_bench_menus")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")

MENU = {
    "button": [
        {"type": "click", "name": "今日推荐", "key": "TODAY", "reply": "今天推荐拿铁"},
        {
            "name": "关于我们",
            "sub_button": [
                {"type": "view", "name": "官网", "url": "https://example.com/"},
                {"type": "location_select", "name": "门店位置", "key": "SHOPS"},
            ],
        },
        {"name": "工具", "sub_button": [{"type": "scancode_push", "name": "扫一扫", "key": "SCAN"}]},
    ]
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--quick", action="store_true", help="100 accounts")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument(
        "--threads", type=int, default=8, help="task threads per worker process (the tasks wait on I/O)"
    )
    parser.add_argument("--fail-rate", type=float, default=0.0)
    parser.add_argument("--rate", type=float, default=0.0, help="MENU_PUBLISH_RATE_PER_SECOND")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    if args.quick:
        args.accounts = min(args.accounts, 100)
    return args


def worker_env(base_url: str, args) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "wxadmin.settings.test",
        "DATABASE_URL": DB_URL,
        "TEST_REDIS_URL": REDIS_URL,
        "WECHAT_API_BASE": base_url,
        "MENU_PUBLISH_RATE_PER_SECOND": str(args.rate),
        "MENU_PUBLISH_RETRY_BASE_SECONDS": "0.2",
        # workers keep their database connections between tasks (set it in production too)
        "CONN_MAX_AGE": "60",
    }


def serve_sandbox(apps: dict, conn) -> None:
    """The sandbox in a process of its own, so that it does not share a GIL with the
    benchmark's bookkeeping (enqueueing, polling) — neither in the baseline nor after."""
    from wechat_sandbox import Sandbox

    sandbox = Sandbox().start(host="127.0.0.1", port=0)
    for appid, secret in apps.items():
        sandbox.register_app(appid, secret, certified=True)
    conn.send(sandbox.base_url)
    conn.recv()  # until the parent says stop
    sandbox.stop()


def main() -> None:
    args = parse_args()
    ensure_database(DB_URL)
    import multiprocessing
    import secrets

    credentials = {"wx" + secrets.token_hex(8): secrets.token_hex(16) for _ in range(args.accounts)}
    parent_conn, child_conn = multiprocessing.Pipe()
    sandbox_process = multiprocessing.get_context("fork").Process(
        target=serve_sandbox, args=(credentials, child_conn), daemon=True
    )
    sandbox_process.start()
    base_url = parent_conn.recv()
    os.environ.update(worker_env(base_url, args))

    import django

    django.setup()
    import redis
    import requests
    from django.core.management import call_command

    from accounts.models import OfficialAccount
    from accounts.tests.factories import EntityFactory, random_alnum, random_hex
    from menus import services
    from menus.models import FanOut, Menu
    from menus.selectors import fanout_counts, fanout_progress

    redis.Redis.from_url(REDIS_URL).flushdb()
    call_command("migrate", verbosity=0)
    n = args.accounts
    print(
        f"menu fan-out benchmark: {n} accounts, {args.workers} worker processes, "
        f"sandbox fail_rate={args.fail_rate}, global rate="
        f"{args.rate or 'unlimited'}/s",
        flush=True,
    )

    # -- accounts in the sandbox and in the database ---------------------------------
    OfficialAccount.objects.filter(name__startswith="bench-").delete()
    FanOut.objects.all().delete()
    entity = EntityFactory(full_name=f"基准测试公司{time.time_ns()}")
    accounts = []
    for i, (appid, secret) in enumerate(credentials.items()):
        accounts.append(
            OfficialAccount(
                entity=entity,
                name=f"bench-{i:04d}",
                original_id="gh_" + random_hex(12),
                appid=appid,
                appsecret=secret,
                server_token=random_alnum(32),
                encoding_aes_key=random_alnum(43),
                certified_until="2099-01-01",
            )
        )
    OfficialAccount.objects.bulk_create(accounts, batch_size=200)
    accounts = list(OfficialAccount.objects.filter(name__startswith="bench-"))
    Menu.objects.bulk_create([Menu(account=a) for a in accounts])

    # -- baseline: the sandbox's raw menu/create throughput ----------------------------
    body = services.wechat_menu_body(MENU)
    tokens = {}
    session = requests.Session()
    for account in accounts:
        tokens[account.appid] = session.get(
            f"{base_url}/cgi-bin/token",
            timeout=10,
            params={
                "grant_type": "client_credential",
                "appid": account.appid,
                "secret": str(account.appsecret),
            },
        ).json()["access_token"]
    raw_errors = []

    def raw_worker(chunk):
        own = requests.Session()
        for account in chunk:
            answer = own.post(
                f"{base_url}/cgi-bin/menu/create",
                json=body,
                timeout=10,
                params={"access_token": tokens[account.appid]},
            ).json()
            if answer.get("errcode"):
                raw_errors.append(answer)

    clients = args.workers * args.threads
    chunks = [accounts[i::clients] for i in range(clients)]
    started = time.perf_counter()
    threads = [threading.Thread(target=raw_worker, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    raw_seconds = time.perf_counter() - started
    raw_rate = n / raw_seconds
    print(
        f"baseline  raw menu/create ({clients} client threads): {raw_seconds:.2f} s, "
        f"{raw_rate:.1f} accounts/s, errors {len(raw_errors)}",
        flush=True,
    )

    # -- warm the token store, as the token-refresh beat job would ---------------------
    from accounts.wechat_api import token_store

    store = token_store()
    for account in accounts:
        store.get_token(account.appid, str(account.appsecret), source=account.token_source)
    if args.fail_rate:
        requests.post(f"{base_url}/sandbox/faults", json={"fail_rate": args.fail_rate}, timeout=10)

    # -- the real thing: fan-out through Celery ----------------------------------------
    from core.testing.faults import CeleryWorker

    workers = [
        CeleryWorker(
            worker_env(base_url, args),
            name=f"bench-menus-{os.getpid()}-{i}",
            log_path=None,  # warnings to this terminal
            concurrency=args.threads,
            loglevel=os.environ.get("BENCH_WORKER_LOGLEVEL", "WARNING"),
            extra_args=("--without-heartbeat",),
        )
        for i in range(args.workers)
    ]
    try:
        from wxadmin.celery import app

        deadline = time.monotonic() + 60
        while len(app.control.ping(timeout=0.5)) < args.workers:
            if time.monotonic() > deadline or any(w.process.poll() is not None for w in workers):
                raise SystemExit("the Celery workers did not start")
        cpu_before = cpu_seconds(w.process.pid for w in workers)
        started = time.perf_counter()
        fanout = services.fanout_start(data=MENU, accounts=accounts, by=None)
        enqueued = time.perf_counter() - started
        deadline = time.monotonic() + args.timeout
        counts = fanout_counts(fanout)
        while counts["pending"] and time.monotonic() < deadline:
            time.sleep(0.05)
            counts = fanout_counts(fanout)
        seconds = time.perf_counter() - started
        worker_cpu = cpu_seconds(w.process.pid for w in workers) - cpu_before
    finally:
        for worker in workers:
            worker.stop()
        parent_conn.send("stop")
        sandbox_process.join(timeout=10)
    progress = fanout_progress(fanout)

    rate = progress["published"] / seconds
    failures = progress["failed"] + progress["pending"]
    attempts = sum(row["attempts"] for row in progress["rows"])
    print(
        f"fan-out   {n} accounts through Celery: wall {seconds:.2f} s, "
        f"{rate:.1f} accounts/s, published {progress['published']}, "
        f"failed {progress['failed']}, pending {progress['pending']}, "
        f"menu/create attempts {attempts} (versions frozen and tasks queued in "
        f"{enqueued:.2f} s)",
        flush=True,
    )
    print(
        f"workers   CPU {worker_cpu:.2f} s = {1000 * worker_cpu / max(attempts, 1):.1f} ms per "
        f"publication; machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs",
        flush=True,
    )
    ratio = rate / raw_rate if raw_rate else 0.0
    print(
        f"ratio     fan-out / raw sandbox throughput = {ratio:.2f} (target >= 0.5); "
        f"failures {failures} (target 0 without fault injection)"
    )


if __name__ == "__main__":
    main()
