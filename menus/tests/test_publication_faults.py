"""Publishing under real faults: a worker killed mid-publish, the broker down or hung at
publish time, the database unreachable while a task runs. Real processes and sockets,
the real PostgreSQL and Redis; nothing mocked."""

import json
import time

import pytest
from django.db import connection
from django.urls import reverse

from core.testing.faults import FORWARD, REFUSE, BlackHole, TcpProxy, free_port
from menus import services
from menus.models import Menu, MenuVersion, VersionStatus

from .conftest import worker_env

MENU = {"button": [{"type": "click", "name": "今日推荐", "key": "TODAY", "reply": "拿铁"}]}


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture
def broker_at():
    """`broker_at(url)` points this process's Celery producer at another broker; restored
    afterwards."""
    from core.testing.faults import point_broker_at
    from wxadmin.celery import app

    original = app.conf.broker_url
    yield point_broker_at
    point_broker_at(original)


def post_publish(client, account):
    return client.post(
        reverse("menus:publish", args=[account.pk]),
        json.dumps({"menu": MENU}),
        content_type="application/json",
    )


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_publish_leaves_the_version_published_once_a_worker_is_back(
    wechat, operator, certified_account, start_worker
):
    """SIGKILL while menu/create is in flight: the unacknowledged message comes back from
    Redis after the visibility timeout (sized to the task time limit: 6 s here) and the
    next worker publishes the version; nothing waits for the sweeper."""
    wechat(certified_account)
    sandbox = wechat.sandbox
    env = worker_env(
        wechat,
        connection,
        CELERY_TASK_SOFT_TIME_LIMIT=4,
        CELERY_TASK_TIME_LIMIT=5,
        CELERY_BROKER_VISIBILITY_TIMEOUT=6,
        MENU_PUBLISH_LOCK_SECONDS=5,
    )
    doomed = start_worker(env, "doomed")
    sandbox.latency_ms = 3000  # every call hangs long enough to be killed in the middle
    services.draft_save(account=certified_account, data=MENU, by=operator)
    version = services.menu_publish(account=certified_account, by=operator)
    # the sent number is raised right before menu/create: the call is in flight now
    wait_for(
        lambda: Menu.objects.filter(account=certified_account, sent_number=version.number).exists(),
        30,
        "the worker to start the call",
    )
    doomed.kill()
    sandbox.latency_ms = 0
    back = time.monotonic()
    start_worker(env, "rescuer")
    wait_for(
        lambda: MenuVersion.objects.filter(pk=version.pk).exclude(status=VersionStatus.PENDING).exists(),
        60,
        "the version to finish",
    )
    version.refresh_from_db()
    assert version.status == VersionStatus.PUBLISHED, version.explanation
    assert time.monotonic() - back < 60
    assert version.requeued_at is None  # the broker brought it back, not the sweeper
    live = sandbox.state(certified_account.appid)["menu"]["button"]
    assert [button["name"] for button in live] == ["今日推荐"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_broker_down_at_publish_shows_a_chinese_error_and_leaves_nothing_pending(
    client, operator, certified_account, broker_at
):
    """Redis refuses connections: the editor gets a clear error in Chinese (503) and the
    version is recorded as failed with the reason, not left pending."""
    broker_at(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    client.force_login(operator)
    response = post_publish(client, certified_account)
    assert response.status_code == 503
    assert "无法连接任务队列" in response.json()["error"]
    version = MenuVersion.objects.get(menu__account=certified_account)
    assert version.status == VersionStatus.FAILED
    assert version.errmsg == "task queue unreachable" and "Redis" in version.explanation
    assert not MenuVersion.objects.filter(status=VersionStatus.PENDING).exists()


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_broker_hung_at_publish_answers_within_seconds(client, operator, certified_account, broker_at):
    """Redis accepts the connection and never answers: the request still ends within
    seconds (short broker socket timeouts), not when gunicorn kills the worker."""
    with BlackHole() as hole:
        broker_at(f"redis://127.0.0.1:{hole.port}/0")
        client.force_login(operator)
        started = time.monotonic()
        response = post_publish(client, certified_account)
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert elapsed < 15, elapsed
    assert MenuVersion.objects.get(menu__account=certified_account).status == VersionStatus.FAILED


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_database_error_in_the_task_is_retried_not_dropped(wechat, operator, certified_account, start_worker):
    """The worker reaches PostgreSQL through a proxy that starts refusing connections:
    the task fails on the database, is retried instead of acknowledged and dropped, and
    publishes the version once the database is back."""
    wechat(certified_account)
    settings_dict = connection.settings_dict
    proxy = TcpProxy(settings_dict.get("HOST") or "127.0.0.1", int(settings_dict.get("PORT") or 5432))
    try:
        env = worker_env(wechat, connection)
        env["DATABASE_URL"] = env["DATABASE_URL"].replace(
            f":{settings_dict.get('PORT') or 5432}/", f":{proxy.port}/"
        )
        worker = start_worker(env, "db-fault")
        proxy.set_mode(REFUSE)
        services.draft_save(account=certified_account, data=MENU, by=operator)
        version = services.menu_publish(account=certified_account, by=operator)
        wait_for(lambda: "database error, retrying" in worker.log(), 30, "a database error")
        assert MenuVersion.objects.get(pk=version.pk).status == VersionStatus.PENDING
        proxy.set_mode(FORWARD)
        wait_for(
            lambda: MenuVersion.objects.filter(pk=version.pk).exclude(status=VersionStatus.PENDING).exists(),
            60,
            "the version to finish",
        )
    finally:
        proxy.close()
    version.refresh_from_db()
    assert version.status == VersionStatus.PUBLISHED, version.explanation
    assert version.attempts == 1
    assert wechat.sandbox.state(certified_account.appid)["menu_history"] == [["今日推荐"]]
