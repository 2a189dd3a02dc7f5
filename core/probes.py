"""The health probes every part of the house may run: database, Redis, the Celery broker, beat's
heartbeat and the queues' lengths. Leaf code: the glue's /readyz (`wxadmin.health`) and the
metrics (`core.metrics`) both read them, so neither imports the other.

Each check returns (ok, detail); the detail is safe to publish (names, durations, counts).
"""

from __future__ import annotations

import time

import redis
from django.conf import settings

from . import redis_clients

HEARTBEAT_CACHE_KEY = "health:beat-heartbeat"


# --- The checks (each returns (ok, detail); detail is safe to publish) -----------------------


def check_database() -> tuple[bool, str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return True, "reachable"


def _redis_client() -> redis.Redis:
    """One pooled client per URL and process: a probe costs a PING, not a new connection."""
    return redis_clients.client(redis_clients.Purpose.HEALTH)


def check_redis() -> tuple[bool, str]:
    _redis_client().ping()
    return True, "reachable"


def redis_durability(client: redis.Redis) -> tuple[bool, str]:
    """Would this Redis keep what we give it? (safe, detail) from INFO (which works where
    CONFIG is disabled). Issue 23, point 5: without `appendonly yes` a restart loses
    accepted callback messages and queued tasks (10 of 2,000 in the fault runs); any
    `maxmemory-policy` but `noeviction` may evict queued messages and locks."""
    aof = int(client.info("persistence").get("aof_enabled", 0)) == 1
    policy = str(client.info("memory").get("maxmemory_policy", "unknown"))
    detail = f"appendonly {'yes' if aof else 'no'}, maxmemory-policy {policy}"
    problems = []
    if not aof:
        problems.append("a restart loses queued messages (set appendonly yes)")
    if policy != "noeviction":
        problems.append("keys may be evicted: queued messages and locks (set maxmemory-policy noeviction)")
    return not problems, "; ".join([detail, *problems])


def check_redis_durability() -> tuple[bool, str]:
    """Fails only where durability is required (production, unless REDIS_ACCEPT_DATA_LOSS
    says the risk is accepted); elsewhere it reports."""
    safe, detail = redis_durability(_redis_client())
    if safe:
        return True, detail
    if settings.REDIS_ACCEPT_DATA_LOSS:
        return True, f"{detail} (risk accepted: REDIS_ACCEPT_DATA_LOSS)"
    if not settings.REDIS_DURABILITY_REQUIRED:
        return True, f"{detail} (not required outside production)"
    return False, detail


def check_broker() -> tuple[bool, str]:
    from celery import current_app as app

    if app.conf.broker_url == settings.REDIS_URL:  # the usual one-Redis set-up: one PING
        _redis_client().ping()
        return True, "reachable (the Redis at REDIS_URL)"
    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=0, timeout=1)
    return True, "reachable"


def heartbeat_record() -> None:
    """Called by the heartbeat task: beat sent it and a worker ran it, just now."""
    from django.core.cache import cache

    cache.set(HEARTBEAT_CACHE_KEY, time.time(), timeout=None)


def heartbeat_age_seconds() -> float | None:
    from django.core.cache import cache

    seen = cache.get(HEARTBEAT_CACHE_KEY)
    return None if seen is None else max(0.0, time.time() - float(seen))


def check_beat() -> tuple[bool, str]:
    age = heartbeat_age_seconds()
    limit = settings.HEALTH_HEARTBEAT_MAX_AGE_SECONDS
    if age is None:
        return False, (
            "no heartbeat yet: is beat running, with its schedules installed "
            "(manage.py install_schedules), and a worker?"
        )
    if age > limit:
        return False, f"last heartbeat {age:.0f} s ago (limit {limit} s): beat or the workers stopped"
    return True, f"last heartbeat {age:.0f} s ago"


def queue_lengths() -> dict[str, int]:
    """Messages waiting per Celery queue, through kombu (works for Redis and RabbitMQ)."""
    from celery import current_app as app

    names = [queue.name for queue in (app.conf.task_queues or [])] or [app.conf.task_default_queue]
    lengths: dict[str, int] = {}
    with app.connection_for_read() as connection:
        connection.ensure_connection(max_retries=0, timeout=1)
        channel = connection.default_channel
        for name in names:
            try:
                # kombu's stubs type default_channel as the abstract StdChannel; every
                # transport's channel (Redis, AMQP) has queue_declare.
                declared = channel.queue_declare(queue=name, passive=True)  # type: ignore[attr-defined]
                lengths[name] = declared.message_count
            except Exception:  # noqa: BLE001 - a queue nobody declared yet holds nothing
                lengths[name] = 0
    return lengths
