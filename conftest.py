"""Fixtures shared by every app's tests. Tests use the real PostgreSQL/SQLite and Redis."""

import pytest
import redis
from django.conf import settings

from core.testing.flush import use_delete_flush

# After a transactional test, empty the tables with DELETE rather than TRUNCATE (issue 21).
use_delete_flush()


@pytest.fixture
def redis_client():
    """A client on the test Redis database, emptied before and after the test."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture(autouse=True)
def _english_by_default(settings):
    """Tests assert on English messages unless they switch language themselves."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def celery_worker_thread(transactional_db):
    """A real Celery worker (threads) consuming from the real Redis broker of the test settings.

    Tasks sent with .delay()/.apply_async() are executed by it; results land in
    django-celery-results. Needs the transactional database because the worker
    runs in other threads with their own connections.
    """
    from celery.contrib.testing.worker import start_worker

    from wxadmin.celery import app

    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()  # no stale messages from an earlier run
    app.conf.update(broker_url=settings.CELERY_BROKER_URL, task_always_eager=False)
    with start_worker(
        app, pool="threads", concurrency=4, perform_ping_check=False, shutdown_timeout=30, loglevel="WARNING"
    ) as worker:
        yield worker
    client.flushdb()
    client.close()


# The offline WeChat API on a free loopback port (defined by the wechat_sandbox package).
from wechat_sandbox.tests.conftest import sandbox  # noqa: E402, F401

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture
def page(monkeypatch):
    """A Playwright page in Debian's headless Chromium (no browser download), in Chinese.

    Skips with a reason when Chromium is not installed (`.ci/run` installs it).
    """
    import os

    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    # Playwright's sync API runs an event loop in this thread; Django refuses ORM calls
    # there unless told otherwise. Scoped to the test so later tests do not inherit it.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1100}, locale="zh-CN")
        browser_page = context.new_page()
        browser_page.set_default_timeout(20_000)
        yield browser_page
        context.close()
        browser.close()


@pytest.fixture
def admin_login(page, live_server):
    """`admin_login(username)` signs in through the admin's login form in the browser `page`
    (the password defaults to the one `UserFactory` sets)."""

    def log_in(username: str, password: str = "pw-for-tests-123") -> None:
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.locator("[type=submit]").click()

    return log_in


def pytest_runtest_setup(item):
    """Tests marked `postgres` need a server database; on SQLite they are skipped, saying why."""
    if item.get_closest_marker("postgres"):
        if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
            pytest.skip(
                "needs PostgreSQL (set DATABASE_URL); SQLite locks whole tables "
                "and keeps the test database where other processes cannot see it"
            )
