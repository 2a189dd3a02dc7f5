import datetime

import pytest

from accounts.tests.factories import OfficialAccountFactory, UserFactory


@pytest.fixture
def operator(db):
    return UserFactory(groups=["Operators"])


@pytest.fixture
def certified_account(operator):
    return OfficialAccountFactory(assigned_staff=[operator], certified_until=datetime.date(2099, 1, 1))


@pytest.fixture
def uncertified_account(operator):
    return OfficialAccountFactory(assigned_staff=[operator])


@pytest.fixture
def wechat(sandbox, settings, redis_client):
    """Point the project at the sandbox; `wechat(account)` registers the account there."""
    settings.WECHAT_API_BASE = sandbox.base_url
    settings.MENU_PUBLISH_RETRY_BASE_SECONDS = 0.01
    settings.MENU_PUBLISH_RATE_PER_SECOND = 0

    def register(account):
        sandbox.register_app(
            account.appid,
            str(account.appsecret),
            certified=account.is_certified(),
            wechat_id=account.wechat_id,
            original_id=account.original_id,
            token=str(account.server_token),
            encoding_aes_key=str(account.encoding_aes_key),
            message_mode=account.message_mode,
        )
        return account

    register.sandbox = sandbox
    return register


def worker_env(wechat, connection, **extra) -> dict:
    """The environment of a real worker process: this test's database, Redis and sandbox."""
    from django.conf import settings

    from core.testing.faults import database_url

    return {
        "DATABASE_URL": database_url(connection.settings_dict),
        "TEST_REDIS_URL": settings.REDIS_URL,
        "WECHAT_API_BASE": wechat.sandbox.base_url,
        "MENU_PUBLISH_RETRY_BASE_SECONDS": "0.2",
        "MENU_PUBLISH_RATE_PER_SECOND": "0",
        "CONN_MAX_AGE": "0",
        **{key: str(value) for key, value in extra.items()},
    }


@pytest.fixture
def start_worker(tmp_path):
    """`start_worker(env, name)` starts a real `celery worker` process and waits until it
    is ready; every worker started is stopped after the test (its log is in tmp_path)."""
    import os

    from core.testing.faults import CeleryWorker

    started = []

    def start(env: dict, name: str, **kwargs) -> CeleryWorker:
        worker = CeleryWorker(
            env,
            name=f"{name}-{os.getpid()}-{len(started)}",
            log_path=tmp_path / f"{name}-{len(started)}.log",
            **kwargs,
        )
        started.append(worker)
        return worker.wait_ready()

    yield start
    for worker in started:
        worker.stop()
