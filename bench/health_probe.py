"""Benchmark: what a load balancer's probe every second costs — /readyz against /healthz.

    .venv/bin/python bench/health_probe.py            # 2000 requests per phase
    .venv/bin/python bench/health_probe.py --requests 500

In one process, through the whole middleware stack (Django's test client, no
network): /healthz (no I/O; the baseline), /readyz with its checks cached
(HEALTH_CACHE_SECONDS=2, the default) and /readyz running every check each time
(HEALTH_CACHE_SECONDS=0: SELECT 1, Redis PING, a broker connection, the heartbeat
read, the expired-token count). Database `BENCH_DATABASE_URL` (default
postgres://postgres@127.0.0.1:5432/wx_bench_health, created and migrated), Redis
`BENCH_REDIS_URL` (default redis://127.0.0.1:6379/11).

Prints p50/p99 per phase and the ratio cached /readyz ÷ /healthz (target ≤ 2).

Then what the observability middleware costs the WeChat callback: a signed URL
verification (GET /wechat/<appid>/) through the full stack, with production's JSON
log line going to /dev/null, against the same stack without
HealthEndpointsMiddleware and RequestContextMiddleware (no request line, no
metrics). Prints both p50s and the difference in µs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import benchdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wx_bench_health")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")


def setup_django() -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "wxadmin.settings.test",
            "DATABASE_URL": DB_URL,
            "TEST_REDIS_URL": REDIS_URL,
            "CONN_MAX_AGE": "60",
        }
    )
    benchdb.setup_django()


def timed(client, path: str, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(path)
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200, (path, response.content[:300])
    return samples


def describe(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    return f"{name:<28} p50 {statistics.median(ordered) * 1e6:8.0f} µs   p99 {p99 * 1e6:8.0f} µs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    benchdb.ensure_database(DB_URL)
    setup_django()
    from django.conf import settings
    from django.test import Client

    from core import probes
    from wxadmin import health

    settings.ALLOWED_HOSTS = ["*"]
    probes.heartbeat_record()
    client = Client()
    timed(client, "/readyz", 50)  # warm-up: connections, imports

    baseline = timed(client, "/healthz", args.requests)
    settings.HEALTH_CACHE_SECONDS = 2.0
    health.readiness.reset()
    cached = timed(client, "/readyz", args.requests)
    settings.HEALTH_CACHE_SECONDS = 0.0
    uncached = timed(client, "/readyz", max(50, args.requests // 10))

    print(describe("/healthz (baseline)", baseline))
    print(describe("/readyz, checks cached 2 s", cached))
    print(describe("/readyz, every check each time", uncached))
    ratio = statistics.median(cached) / statistics.median(baseline)
    print(f"ratio cached /readyz ÷ /healthz: {ratio:.2f} (target ≤ 2) — {'met' if ratio <= 2 else 'NOT met'}")
    callback_overhead(args.requests)
    run = statistics.median(uncached)
    print(
        f"the checks run at most once per 2 s per process: at most {run / 2 * 1000:.2f} ms "
        f"of each second ({run / 2 * 100:.2f} % of a core) per web process, however often probed"
    )


def callback_overhead(count: int) -> None:
    import logging

    from django.conf import settings
    from django.test import Client, override_settings

    from accounts.tests.factories import OfficialAccountFactory
    from core.logs import JsonFormatter
    from wechat.crypto import signature

    token = "BenchServerToken0123456789abcdef"
    tag = f"{os.getpid()}-{time.time_ns()}"  # reruns on the same database do not collide
    account = OfficialAccountFactory(
        server_token=token, entity__full_name=f"bench {tag}", entity__short_name=f"bench {tag}"
    )
    stamp, nonce = str(int(time.time())), "bench"
    path = (
        f"/wechat/{account.appid}/?signature={signature(token, stamp, nonce)}"
        f"&timestamp={stamp}&nonce={nonce}&echostr=ok"
    )
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    sink = logging.StreamHandler(open(os.devnull, "w"))  # noqa: SIM115
    sink.setFormatter(JsonFormatter())
    root.handlers, root.level = [sink], logging.INFO
    ours = {"wxadmin.health.HealthEndpointsMiddleware", "core.logs.RequestContextMiddleware"}
    try:
        phases = {}
        for _ in range(2):  # alternate, so that other load on the machine hits both alike
            for name, middleware in (
                ("with", settings.MIDDLEWARE),
                ("without", [m for m in settings.MIDDLEWARE if m not in ours]),
            ):
                with override_settings(MIDDLEWARE=middleware):
                    client = Client()
                    timed(client, path, 50)
                    phases.setdefault(name, []).extend(timed(client, path, count // 2))
    finally:
        root.handlers, root.level = saved
        entity = account.entity
        account.delete()
        entity.delete()
    print(describe("callback, full stack", phases["with"]))
    print(describe("callback, without ours", phases["without"]))
    extra = statistics.median(phases["with"]) - statistics.median(phases["without"])
    print(
        f"observability middleware on the callback: {extra * 1e6:+.0f} µs per request "
        f"(ratio {statistics.median(phases['with']) / statistics.median(phases['without']):.2f})"
    )


if __name__ == "__main__":
    main()
