"""/healthz, /readyz and /metrics: cheap, secret-free, and /metrics closed to the public."""

import datetime
import json
import time

import pytest
from django.utils import timezone

from accounts.models import AccountTokenStatus
from accounts.tests.factories import OfficialAccountFactory
from core import probes
from wxadmin import health

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_readiness(redis_client):
    """Each test computes its own checks (the cache is per process), on the test Redis."""
    health.readiness.reset()
    yield
    health.readiness.reset()


def test_healthz_answers_without_host_check_or_https_redirect(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/healthz", HTTP_HOST="10.1.2.3")  # a load balancer probing by IP
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"
    # the same host on any other URL is refused: the probe path is the exception
    assert client.get("/admin/login/", HTTP_HOST="10.1.2.3").status_code == 400


def test_probe_endpoints_take_only_get(client):
    assert client.post("/healthz").status_code == 405
    assert client.post("/readyz").status_code == 405


def test_readyz_is_ready_with_everything_up_and_says_nothing_secret(client, settings):
    probes.heartbeat_record()
    response = client.get("/readyz/")
    body = response.content.decode()
    assert response.status_code == 200, body
    checks = response.json()["checks"]
    assert {name: check["ok"] for name, check in checks.items()} == {
        "database": True,
        "redis": True,
        "redis_durability": True,
        "broker": True,
        "beat": True,
        "tokens": True,
    }
    for secret in (settings.SECRET_KEY, settings.REDIS_URL, *settings.FIELD_ENCRYPTION_KEYS):
        assert secret not in body


def test_readyz_fails_without_a_recent_heartbeat(client, redis_client, settings):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["beat"]["ok"] is False
    assert "install_schedules" in response.json()["checks"]["beat"]["detail"]

    health.readiness.reset()
    settings.HEALTH_HEARTBEAT_MAX_AGE_SECONDS = 60
    from django.core.cache import cache

    cache.set(probes.HEARTBEAT_CACHE_KEY, timezone.now().timestamp() - 300, timeout=None)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "300 s ago" in response.json()["checks"]["beat"]["detail"]


def test_readyz_fails_when_an_account_token_expired_and_checks_can_be_narrowed(client):
    probes.heartbeat_record()
    account = OfficialAccountFactory()
    AccountTokenStatus.objects.create(
        account=account, expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["tokens"] == {
        "ok": False,
        "ms": response.json()["checks"]["tokens"]["ms"],
        "detail": "1 account(s) with an expired access token (see the admin's token status)",
    }
    assert account.appid not in response.content.decode()
    # what a load balancer asks: only this node's dependencies decide
    narrowed = client.get("/readyz?checks=database,redis,broker")
    assert narrowed.status_code == 200
    assert narrowed.json()["deciding"] == ["database", "redis", "broker"]
    assert client.get("/readyz?checks=database,nope").status_code == 400


def test_readyz_reports_an_unreachable_redis_without_its_url(client, settings):
    settings.REDIS_URL = "redis://:hunter2@127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"] == {
        "ok": False,
        "detail": "failed: ConnectionError",
        "ms": response.json()["checks"]["redis"]["ms"],
    }
    assert "hunter2" not in response.content.decode()


def test_readyz_runs_its_checks_once_per_cache_period(client, settings, django_assert_num_queries):
    settings.HEALTH_CACHE_SECONDS = 60
    probes.heartbeat_record()
    client.get("/readyz")
    with django_assert_num_queries(0):  # neither SELECT 1 nor the token count again
        for _ in range(5):
            assert client.get("/readyz").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_heartbeat_task_run_by_a_worker_makes_beat_check_pass(celery_worker_thread):
    from wxadmin.schedules import collect_schedules
    from wxadmin.tasks import heartbeat

    assert probes.check_beat()[0] is False
    heartbeat.delay()
    deadline = time.monotonic() + 20
    while probes.heartbeat_age_seconds() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert probes.check_beat() == (True, "last heartbeat 0 s ago")
    assert any(
        spec["task"] == "wxadmin.heartbeat" and spec["every_seconds"] == 30 for spec in collect_schedules()
    )


def test_metrics_are_open_to_allowed_addresses_only(client, settings):
    settings.METRICS_ALLOWED_NETWORKS = ["127.0.0.1/32", "10.0.0.0/8"]
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", REMOTE_ADDR="10.2.3.4").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="198.51.100.7").status_code == 403
    # through a proxy REMOTE_ADDR is the proxy's (often 127.0.0.1): not trusted
    assert (
        client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.7").status_code
        == 403
    )
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    for name in (
        "wxadmin_callback_duration_seconds_bucket",
        "wxadmin_menu_publications_total",
        "wxadmin_token_fetches_total",
        "wxadmin_reminders_sent_total",
        "wxadmin_task_queue_length",
    ):
        assert f"# TYPE {name.removesuffix('_bucket').removesuffix('_total')}" in text


def test_metrics_bearer_token_opens_them_from_anywhere(client, settings):
    settings.METRICS_ALLOWED_NETWORKS = []
    settings.METRICS_TOKEN = "scrape-token-0123456789"
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert (
        client.get(
            "/metrics",
            REMOTE_ADDR="198.51.100.7",
            HTTP_X_FORWARDED_FOR="1.2.3.4",
            HTTP_AUTHORIZATION="Bearer scrape-token-0123456789",
        ).status_code
        == 200
    )


def test_readyz_json_is_plain_data(client):
    probes.heartbeat_record()
    data = json.loads(client.get("/readyz").content)
    assert data["status"] == "ok"
    assert all(set(check) == {"ok", "detail", "ms"} for check in data["checks"].values())


def test_readyz_reports_an_unreachable_separate_broker_quickly(client, monkeypatch):
    """With RabbitMQ (or another Redis) as broker, the broker check connects to it."""
    from wxadmin.celery import app

    monkeypatch.setattr(app.conf, "broker_url", "amqp://wxadmin:pw-in-url@127.0.0.1:1//")
    probes.heartbeat_record()
    started = time.monotonic()
    response = client.get("/readyz")
    assert time.monotonic() - started < 3
    checks = response.json()["checks"]
    assert response.status_code == 503
    assert checks["broker"]["ok"] is False and checks["redis"]["ok"] is True
    assert "pw-in-url" not in response.content.decode()
