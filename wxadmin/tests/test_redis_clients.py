"""One place for Redis clients (issue 16): one client per (URL, purpose), each purpose with
the timeouts its callers had before, and no module of ours building a client of its own."""

import pathlib
import re

from django.conf import settings

from accounts.wechat_api import token_store
from core import probes, redis_clients
from core.redis_clients import Purpose
from menus import limits
from messaging import log_queue
from messaging import receiving as messaging_receiving

ROOT = pathlib.Path(__file__).resolve().parents[2]
APPS = ("core", "accounts", "menus", "certification", "messaging", "wechat", "wxadmin")


def options(client) -> dict:
    return client.connection_pool.connection_kwargs


def test_one_client_per_url_and_purpose():
    callback = redis_clients.client(Purpose.CALLBACK)
    assert redis_clients.client(Purpose.CALLBACK) is callback
    assert redis_clients.client(Purpose.CALLBACK, settings.REDIS_URL) is callback
    assert redis_clients.client(Purpose.TASKS) is not callback
    other = redis_clients.client(Purpose.CALLBACK, "redis://127.0.0.1:1/0")  # nothing connects yet
    assert other is not callback and options(other)["port"] == 1


def test_each_purpose_keeps_the_timeouts_of_its_callers():
    callback = options(redis_clients.client(Purpose.CALLBACK))
    assert (
        callback["socket_timeout"]
        == callback["socket_connect_timeout"]
        == settings.WECHAT_CALLBACK_REDIS_TIMEOUT
    )
    tasks = options(redis_clients.client(Purpose.TASKS))
    assert (tasks["socket_timeout"], tasks["socket_connect_timeout"], tasks["health_check_interval"]) == (
        5,
        3,
        30,
    )
    probe = options(redis_clients.client(Purpose.HEALTH))
    assert (probe["socket_timeout"], probe["socket_connect_timeout"]) == (1, 1)
    reads = options(redis_clients.client(Purpose.QUEUE_READS))
    assert reads["socket_timeout"] == log_queue.BLOCK_MS / 1000 + 5 and reads["socket_connect_timeout"] == 2


def test_the_call_sites_use_the_shared_clients():
    assert messaging_receiving.redis_client() is redis_clients.client(Purpose.CALLBACK)
    assert log_queue._flusher_client() is redis_clients.client(Purpose.QUEUE_READS)
    assert probes._redis_client() is redis_clients.client(Purpose.HEALTH)
    assert limits.redis_client() is redis_clients.client(Purpose.TASKS)
    assert token_store().redis is redis_clients.client(Purpose.TASKS)


def test_no_module_of_ours_builds_a_redis_client_itself():
    """Tests, bench and scripts may; application code goes through core.redis_clients."""
    building = re.compile(r"\bRedis\(|\.from_url\(|StrictRedis|ConnectionPool\(")
    found = []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            relative = path.relative_to(ROOT)
            if {"tests", "testing"} & set(relative.parts) or relative.as_posix() == "core/redis_clients.py":
                continue
            if relative.parts[:2] == ("wxadmin", "settings"):
                continue  # the cache and broker are configured there (REDIS_SOCKET_TIMEOUT)
            if relative.as_posix() == "wxadmin/preflight.py":
                continue  # runs before Django is set up (make serve), from the raw environment
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if building.search(line):
                    found.append(f"{relative}:{number}: {line.strip()}")
    assert found == []
