"""Benchmark: the client-system API against a bare Django view on the same gunicorn, same run (issue 27).

    .venv/bin/python bench/api_token.py               # 6 rounds of 2 s per variant
    .venv/bin/python bench/api_token.py --rounds 3    # shorter
    .venv/bin/python bench/api_token.py --no-refresh-ahead   # callers wait near expiry (before)
    .venv/bin/python bench/api_token.py --port 21850  # gunicorn on a given port (default: a free one)
    .venv/bin/python bench/api_token.py --clients 1   # one client: the latency floor of this machine

What it does, all on this machine:
1. migrates a PostgreSQL database (`BENCH_DATABASE_URL`, default
   postgres://postgres@127.0.0.1:5432/wx_bench_api) and creates one account, its JS-SDK domain
   and a client system with a key; Redis is `BENCH_REDIS_URL` (default
   redis://127.0.0.1:6379/12, flushed);
2. starts the sandbox (tokens and tickets living `--ttl` seconds, so that several expire during
   the run) and gunicorn (2 workers × 4 threads) with the **production** settings,
   WECHAT_API_BASE at the sandbox and WXADMIN_BENCH_VIEWS=1, which mounts the baseline: a bare
   Django view returning a constant (`api/urls.py`);
3. 8 client threads in another process, each on its own keep-alive connection, call the three
   variants — *constant*, *access-token*, *jssdk-config* — in alternating slices, so that other
   load on the machine hits all three alike; every answer is checked (200 and the token).

Prints requests/s, p50 and p99 of each, the gunicorn workers' CPU time a request (read at the
edges of each variant's slices: steadier than the rates on a loaded machine), the ratios
access-token / constant and jssdk-config / constant (target ≥ 0.5, p99 ≤ 20 ms), and the
sandbox's token and ticket fetches against the number of expiries in the run (target: one fetch
per expiry). Tokens and tickets expire every `--ttl` s and are refreshed `--margin` s ahead: the
stores serve the still-valid one while a single caller renews it (wechat/tokens.py, "refresh
ahead"), so expiries do not show in p99.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import sys
import threading
import time
from pathlib import Path

import benchdb
from _servers import cpu_seconds, start_gunicorn, stop_gunicorn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wx_bench_api")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
FERNET_KEYS = "dGVzdC1rZXktb25lLTMyLWJ5dGVzLWxvbmctLS0tLS0=,dGVzdC1rZXktdHdvLTMyLWJ5dGVzLWxvbmctLS0tLS0="
VARIANTS = ("constant", "access-token", "jssdk-config")
CLIENTS = 8
PAGE = "https://m.bench.example.com/shop?id=1"


def env_for_server(sandbox_url: str, margin: int, refresh_ahead: bool = True) -> dict[str, str]:
    extra = {} if refresh_ahead else {"WECHAT_TOKEN_STALE_FLOOR_SECONDS": str(margin)}
    return {
        **extra,
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "wxadmin.settings.production",
        "DATABASE_URL": DB_URL,
        "REDIS_URL": REDIS_URL,
        "EMAIL_URL": "consolemail://",
        "SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "FIELD_ENCRYPTION_KEYS": FERNET_KEYS,
        "SECURE_SSL_REDIRECT": "false",
        "WXADMIN_BENCH_VIEWS": "1",
        "LOG_LEVEL": "WARNING",
        "CONN_MAX_AGE": "60",
        "WECHAT_API_BASE": sandbox_url,
        "WECHAT_TOKEN_MARGIN_SECONDS": str(margin),
    }


def request_for(variant: str, appid: str, key: str) -> tuple[str, str, bytes | None, dict[str, str]]:
    headers = {"Authorization": f"Bearer {key}"}
    if variant == "constant":
        return "GET", f"/api/_bench/constant/{appid}/", None, headers
    if variant == "access-token":
        return "GET", f"/api/v1/accounts/{appid}/access-token", None, headers
    body = json.dumps({"url": PAGE}).encode()
    return (
        "POST",
        f"/api/v1/accounts/{appid}/jssdk-config",
        body,
        {**headers, "Content-Type": "application/json"},
    )


def load(
    port: int, appid: str, key: str, schedule: list[tuple[str, float, float]], out, clients: int = CLIENTS
) -> None:
    """`clients` threads, one keep-alive connection each, following `schedule` (variant, start, end)."""
    latencies: dict[str, list[float]] = {v: [] for v in VARIANTS}
    failures: dict[str, int] = dict.fromkeys(VARIANTS, 0)
    lock = threading.Lock()

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine: dict[str, list[float]] = {v: [] for v in VARIANTS}
        bad = dict.fromkeys(VARIANTS, 0)
        for variant, start, end in schedule:
            method, path, body, headers = request_for(variant, appid, key)
            while time.time() < start:
                time.sleep(0.001)
            while time.time() < end:
                began = time.perf_counter()
                try:
                    conn.request(method, path, body=body, headers=headers)
                    response = conn.getresponse()
                    data = response.read()
                    ok = response.status == 200 and (b"access_token" in data or b"signature" in data)
                except (OSError, http.client.HTTPException):
                    ok = False
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                mine[variant].append(time.perf_counter() - began)
                if not ok:
                    bad[variant] += 1
        with lock:
            for v in VARIANTS:
                latencies[v].extend(mine[v])
                failures[v] += bad[v]

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.put((latencies, failures))


def warm_up(port: int, appid: str, key: str) -> None:
    """Every worker loads the project and fills the caches before the clock starts."""
    for _ in range(12):
        for variant in VARIANTS:
            method, path, body, headers = request_for(variant, appid, key)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            conn.close()
            if response.status != 200:
                raise SystemExit(f"{variant}: {response.status} {data[:300]!r}")


def gunicorn_workers(master: int) -> list[int]:
    """The worker processes of a gunicorn master (Linux /proc)."""
    workers = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == master:
                    workers.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return workers


def worker_cpu_by_variant(master: int, schedule: list[tuple[str, float, float]]) -> dict[str, float]:
    """The gunicorn workers' CPU seconds inside each variant's slices (read at the slices'
    edges): per request, it shows each variant's cost whatever the load, where the rates and
    their ratios move with what else the machine runs."""
    workers = gunicorn_workers(master)
    spent = dict.fromkeys(VARIANTS, 0.0)
    for variant, start, end in schedule:
        time.sleep(max(0.0, start - time.time()))
        before = cpu_seconds(workers)
        time.sleep(max(0.0, end - time.time()))
        spent[variant] += cpu_seconds(workers) - before
    return spent


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--slice", type=float, default=2.0, help="seconds per variant per round")
    parser.add_argument("--ttl", type=int, default=12, help="sandbox token and ticket life (s)")
    parser.add_argument("--margin", type=int, default=4, help="refresh margin (s)")
    parser.add_argument(
        "--no-refresh-ahead",
        action="store_true",
        help="the stores' former behaviour: inside the margin every caller waits for the refresh",
    )
    parser.add_argument("--clients", type=int, default=CLIENTS, help="concurrent keep-alive clients")
    parser.add_argument("--port", type=int, default=0, help="gunicorn's port (default: a free one)")
    args = parser.parse_args()

    from wechat_sandbox import Sandbox

    sandbox = Sandbox(token_ttl=args.ttl, overlap_seconds=args.margin).start()
    benchdb.ensure_database(DB_URL)
    os.environ.update(env_for_server(sandbox.base_url, args.margin, not args.no_refresh_ahead))
    benchdb.setup_django()
    import redis

    from accounts.tests.factories import EntityFactory, OfficialAccountFactory
    from api import services
    from api.models import ApiCall, JsDomain
    from wechat_sandbox.areas.jssdk import ticket_fetches

    redis.Redis.from_url(REDIS_URL).flushdb()
    ApiCall.objects.all().delete()
    stamp = time.time_ns()
    account = OfficialAccountFactory(
        name=f"bench {stamp}", entity=EntityFactory(full_name=f"bench entity {stamp}")
    )
    JsDomain.objects.create(account=account, domain="m.bench.example.com")
    _client, key = services.register_client(
        name="bench", accounts=[account], by=None, rate_limit_per_minute=100_000
    )
    sandbox.register_app(account.appid, account.appsecret)

    from core.testing.faults import free_port

    port = args.port or free_port()
    server = start_gunicorn(
        port, env_for_server(sandbox.base_url, args.margin, not args.no_refresh_ahead), settle_seconds=2
    )
    try:
        warm_up(port, account.appid, key)
        begin = time.time() + 1
        schedule, at = [], begin
        for _ in range(args.rounds):
            for variant in VARIANTS:
                schedule.append((variant, at, at + args.slice))
                at += args.slice
        ctx = mp.get_context("spawn")
        out = ctx.Queue()
        proc = ctx.Process(target=load, args=(port, account.appid, key, schedule, out, args.clients))
        proc.start()
        cpu = worker_cpu_by_variant(server.pid, schedule)
        latencies, failures = out.get(timeout=at - time.time() + 60)
        proc.join()
        elapsed = at - begin
    finally:
        stop_gunicorn(server)
        sandbox.stop()

    seconds = args.rounds * args.slice
    rate = {v: len(latencies[v]) / seconds for v in VARIANTS}
    print(
        f"api bench: {args.clients} keep-alive clients, gunicorn 2 workers × 4 threads, "
        f"{args.rounds} rounds of {args.slice:.0f} s per variant, load average {os.getloadavg()[0]:.2f}, "
        f"refresh ahead {'off' if args.no_refresh_ahead else 'on'}"
    )
    for v in VARIANTS:
        print(
            f"  {v:13s} {rate[v]:8.0f} req/s   p50 {percentile(latencies[v], 0.5) * 1000:6.2f} ms   "
            f"p99 {percentile(latencies[v], 0.99) * 1000:6.2f} ms   failures {failures[v]}   "
            f"server CPU {cpu[v] * 1000 / max(1, len(latencies[v])):.2f} ms a request"
        )
    per_request = {v: cpu[v] / max(1, len(latencies[v])) for v in VARIANTS}
    for v in VARIANTS[1:]:
        print(
            f"  ratio {v} / constant: {rate[v] / rate['constant']:.2f} (target ≥ 0.5; by server CPU a "
            f"request {per_request['constant'] / per_request[v]:.2f}); "
            f"p99 {percentile(latencies[v], 0.99) * 1000:.2f} ms (target ≤ 20 ms)"
        )
    expiries = int(elapsed // (args.ttl - args.margin)) + 1
    tokens = sandbox.token_fetches(account.appid)
    tickets = ticket_fetches(sandbox, account.appid)
    print(
        f"  WeChat fetches over {elapsed:.0f} s (life {args.ttl} s, refreshed {args.margin} s before): "
        f"access_token {tokens}, jsapi_ticket {tickets}; at most {expiries} expected"
    )
    from api import audit

    audit.flush()
    answered = sum(len(latencies[v]) for v in VARIANTS[1:])
    written = ApiCall.objects.count()
    print(f"  audit rows written: {written} (API calls answered: {answered}, and 24 of the warm-up)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
