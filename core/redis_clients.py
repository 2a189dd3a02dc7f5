"""Every Redis client of the project: one per (URL, purpose) and process, with named timeouts.

A purpose names a timeout profile, chosen by how long its caller may wait:

- ``CALLBACK``: WeChat's callback, which must answer within 5 s even when Redis hangs
  (``WECHAT_CALLBACK_REDIS_TIMEOUT``, 0.25 s; the callback then carries on without Redis).
- ``TASKS``: the token store, Celery tasks, menu limits and locks: 5 s per reply, 3 s to
  connect, an idle connection checked (PING) after 30 s.
- ``HEALTH``: the /readyz probe: 1 s, so a hung Redis fails the check instead of the probe.
- ``QUEUE_READS``: blocking stream reads (the message log's flushers) wait up to
  ``QUEUE_READ_MAX_BLOCK_SECONDS``: the socket waits 5 s longer than that.

Clients are cached, so a process keeps one connection pool per (URL, purpose); redis-py
pools reconnect after a fork by themselves. Never ``close()`` a client from here: it is
shared. The Django cache and the Celery broker configure their own clients in settings
(``REDIS_SOCKET_TIMEOUT``). This module is a leaf: Django settings and redis only.
"""

from __future__ import annotations

import enum
import threading
from typing import Any

import redis
from django.conf import settings

#: the longest a blocking queue read (XREADGROUP … BLOCK) may wait
QUEUE_READ_MAX_BLOCK_SECONDS = 1.0


class Purpose(enum.Enum):
    CALLBACK = "callback"
    TASKS = "tasks"
    HEALTH = "health"
    QUEUE_READS = "queue reads"


def timeouts(purpose: Purpose) -> dict[str, Any]:
    """The client options of a purpose (read from the settings when a client is made)."""
    if purpose is Purpose.CALLBACK:
        timeout = settings.WECHAT_CALLBACK_REDIS_TIMEOUT
        return {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    if purpose is Purpose.TASKS:
        return {"socket_timeout": 5, "socket_connect_timeout": 3, "health_check_interval": 30}
    if purpose is Purpose.HEALTH:
        return {"socket_timeout": 1, "socket_connect_timeout": 1}
    return {"socket_timeout": QUEUE_READ_MAX_BLOCK_SECONDS + 5, "socket_connect_timeout": 2}


_lock = threading.Lock()
_clients: dict[tuple[str, Purpose], redis.Redis] = {}


def client(purpose: Purpose, url: str | None = None) -> redis.Redis:
    """The process's client for this purpose at `url` (default: ``REDIS_URL``)."""
    url = url or settings.REDIS_URL
    key = (url, purpose)
    found = _clients.get(key)
    if found is None:
        with _lock:
            found = _clients.get(key)
            if found is None:
                found = _clients[key] = redis.Redis.from_url(url, **timeouts(purpose))
    return found
