"""Redis-backed limits shared by every worker process and host.

- `daily_quota_take(appid)`: WeChat counts menu/create calls per account per day
  (1000/day for a normal account, docs/wechat-protocol.md §b); we count our own calls
  so a runaway fan-out stops before WeChat answers 45009.
- `publish_lock(account_id)`: one menu/create per account at a time, across workers.
- `global_rate_wait()`: a cluster-wide rate for menu/create calls
  (`MENU_PUBLISH_RATE_PER_SECOND`). Celery's `rate_limit` is per worker, so a
  GCRA (generic cell rate algorithm) in one Lua script keeps the rate across all
  workers, using Redis' clock so hosts need not agree on the time.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import time
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import redis
from django.conf import settings

from core import redis_clients

CHINA = ZoneInfo("Asia/Shanghai")
logger = logging.getLogger(__name__)

# KEYS[1] = bucket; ARGV[1] = emission interval (µs), ARGV[2] = burst tolerance (µs).
# Returns 0 when the call may go now, else the µs to wait before trying again.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allow_at = tat - tolerance
if now < allow_at then return allow_at - now end
local new_tat = tat + interval
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil((new_tat - now) / 1000) + 1000)
return 0
"""


def redis_client() -> redis.Redis:
    # The tasks profile (5 s per reply): publications run in workers, never in a request.
    return redis_clients.client(redis_clients.Purpose.TASKS)


def _quota_key(appid: str, day: datetime.date) -> str:
    return f"menus:quota:menu_create:{appid}:{day:%Y%m%d}"


def daily_quota_take(appid: str, *, now: datetime.datetime | None = None) -> bool:
    """Count one menu/create call for today (China time); False when the quota is used up."""
    limit = settings.MENU_CREATE_DAILY_QUOTA
    day = (now or datetime.datetime.now(tz=CHINA)).astimezone(CHINA).date()
    key = _quota_key(appid, day)
    client = redis_client()
    pipe = client.pipeline()
    pipe.incr(key)
    pipe.expire(key, 2 * 86400)
    used, _ = pipe.execute()
    if used > limit:
        client.decr(key)  # a refused call is not a call
        return False
    return True


def daily_quota_used(appid: str, *, now: datetime.datetime | None = None) -> int:
    day = (now or datetime.datetime.now(tz=CHINA)).astimezone(CHINA).date()
    return int(redis_client().get(_quota_key(appid, day)) or 0)


def global_rate_wait(*, bucket: str = "menus:rate:menu_create", max_wait: float = 30.0) -> float:
    """Block until the cluster-wide rate allows one more call; returns seconds waited."""
    rate = float(settings.MENU_PUBLISH_RATE_PER_SECOND or 0)
    if rate <= 0:
        return 0.0
    interval = int(1_000_000 / rate)
    tolerance = interval * max(int(rate // 10), 1)  # a burst of ~0.1 s worth of calls
    script = redis_client().register_script(_GCRA)
    waited = 0.0
    while True:
        delay_us = int(script(keys=[bucket], args=[interval, tolerance]))
        if delay_us <= 0 or waited >= max_wait:
            return waited
        pause = delay_us / 1_000_000
        time.sleep(pause)
        waited += pause


class AccountBusy(Exception):
    """Another worker is publishing this account's menu; try again shortly."""


@contextlib.contextmanager
def publish_lock(account_id: int) -> Iterator[None]:
    """Hold the account's publish lock around the menu/create call (R-MENU-03).

    One call per account at a time: with the sent-number check in the database this
    keeps WeChat's menu in the order the versions were published. redis-py's lock
    owns a random token and releases by compare-and-delete, so a holder outliving
    its lease cannot free a successor's lock. The lease (MENU_PUBLISH_LOCK_SECONDS)
    is longer than one menu/create with all its HTTP attempts; if the holder is
    killed, the lock frees itself when the lease ends. Raises `AccountBusy` when the
    lock is not ours within MENU_PUBLISH_LOCK_WAIT_SECONDS.
    """
    lock = redis_client().lock(
        f"menus:publish-lock:{account_id}",
        timeout=settings.MENU_PUBLISH_LOCK_SECONDS,
        blocking_timeout=settings.MENU_PUBLISH_LOCK_WAIT_SECONDS,
    )
    if not lock.acquire():
        raise AccountBusy(account_id)
    try:
        yield
    finally:
        try:
            lock.release()
        except redis.exceptions.LockError:  # the lease ran out; the lock is someone else's
            logger.warning("menu publish lock of account %s expired before release", account_id)
