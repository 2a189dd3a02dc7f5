"""Issue 23, point 5: /readyz reports Redis's appendonly and maxmemory-policy and, where
durability is required (production), fails when Redis would lose data — unless the risk
is accepted with REDIS_ACCEPT_DATA_LOSS. Against real throwaway redis-server processes."""

import shutil
import subprocess
import time

import pytest
import redis

from core import probes
from core.testing.faults import free_port
from wxadmin.health import readiness

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")


@pytest.fixture
def redis_server(tmp_path):
    """`redis_server(*args)` starts a redis-server on a free port; returns its URL."""
    processes = []

    def start(*args: str) -> str:
        port = free_port()
        process = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path), *args],
            stdout=subprocess.DEVNULL,
        )
        processes.append(process)
        url = f"redis://127.0.0.1:{port}/0"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis.from_url(url).ping()
                return url
            except redis.ConnectionError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=10)


def test_a_durable_redis_is_safe(redis_server):
    url = redis_server("--appendonly", "yes", "--maxmemory-policy", "noeviction")
    safe, detail = probes.redis_durability(redis.Redis.from_url(url))
    assert safe and detail == "appendonly yes, maxmemory-policy noeviction"


def test_no_aof_and_an_evicting_policy_are_named(redis_server):
    url = redis_server("--appendonly", "no", "--maxmemory-policy", "allkeys-lru")
    safe, detail = probes.redis_durability(redis.Redis.from_url(url))
    assert not safe
    assert "appendonly no" in detail and "allkeys-lru" in detail and "noeviction" in detail


@pytest.mark.django_db
def test_readyz_fails_in_production_unless_the_risk_is_accepted(client, redis_server, settings):
    settings.REDIS_URL = redis_server("--appendonly", "no")
    settings.REDIS_DURABILITY_REQUIRED = True
    probes.heartbeat_record()
    readiness.reset()
    failing = client.get("/readyz/?checks=redis_durability")
    assert failing.status_code == 503
    assert "appendonly no" in failing.json()["checks"]["redis_durability"]["detail"]
    settings.REDIS_ACCEPT_DATA_LOSS = True
    readiness.reset()
    accepted = client.get("/readyz/?checks=redis_durability")
    assert accepted.status_code == 200
    assert "risk accepted" in accepted.json()["checks"]["redis_durability"]["detail"]
    readiness.reset()


def test_preflight_reports_redis_and_stops_on_data_loss_unless_accepted(redis_server):
    from wxadmin.preflight import redis_report

    durable = redis_server("--appendonly", "yes")
    assert redis_report({"REDIS_URL": durable}) == (
        True,
        "Redis: appendonly yes, maxmemory-policy noeviction",
    )
    lossy = redis_server("--appendonly", "no")
    may_start, line = redis_report({"REDIS_URL": lossy})
    assert not may_start and "appendonly no" in line and "REDIS_ACCEPT_DATA_LOSS" in line
    assert redis_report({"REDIS_URL": lossy, "REDIS_ACCEPT_DATA_LOSS": "true"})[0]
    unreachable = redis_report({"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    assert unreachable[0] and "not checked" in unreachable[1]
