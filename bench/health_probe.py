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
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wx_bench_health")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")


def ensure_database() -> None:
    import psycopg

    name = DB_URL.rsplit("/", 1)[1]
    with psycopg.connect(DB_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django() -> None:
    os.environ.update({"DJANGO_SETTINGS_MODULE": "wxadmin.settings.test", "DATABASE_URL": DB_URL,
                       "TEST_REDIS_URL": REDIS_URL, "CONN_MAX_AGE": "60"})
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


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
    ensure_database()
    setup_django()
    from django.conf import settings
    from django.test import Client

    from wxadmin import health

    settings.ALLOWED_HOSTS = ["*"]
    health.heartbeat_record()
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
    print(f"ratio cached /readyz ÷ /healthz: {ratio:.2f} (target ≤ 2) — "
          f"{'met' if ratio <= 2 else 'NOT met'}")
    run = statistics.median(uncached)
    print(f"the checks run at most once per 2 s per process: at most {run / 2 * 1000:.2f} ms "
          f"of each second ({run / 2 * 100:.2f} % of a core) per web process, however often probed")


if __name__ == "__main__":
    main()
