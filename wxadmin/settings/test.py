"""Settings for the test suite: real PostgreSQL (via DATABASE_URL) or SQLite, real Redis."""

import os
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env, redis_settings

DEBUG = False
SECRET_KEY = "test-secret-key-not-for-production"
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
FIELD_ENCRYPTION_KEYS = [
    "dGVzdC1rZXktb25lLTMyLWJ5dGVzLWxvbmctLS0tLS0=",
    "dGVzdC1rZXktdHdvLTMyLWJ5dGVzLWxvbmctLS0tLS0=",
]


def worker_redis_url(url: str, worker: str) -> str:
    """(issue 21) Under pytest-xdist each worker (gw0, gw1…) empties a Redis database of its
    own: TEST_REDIS_URL's for gw0, the one below it for gw1, and so on (15, 14, …)."""
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    db = base - int(worker.removeprefix("gw"))
    if db < 0:
        raise ImproperlyConfigured(f"{worker}: no Redis database left below {url} for it")
    return urlunsplit(parts._replace(path=f"/{db}"))


# A Redis database of its own so that tests never touch `make run`'s data.
# (issue 9) REDIS_URL, the cache and the broker all from this one URL.
TEST_REDIS_URL = env.str("TEST_REDIS_URL", default="redis://127.0.0.1:6379/15")
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
# Processes a test starts inherit the worker's name and get the worker's URL (or a proxy
# to it) as TEST_REDIS_URL already: the marker keeps them from moving down once more.
if XDIST_WORKER.startswith("gw") and not os.environ.get("TEST_REDIS_URL_IS_PER_WORKER"):
    TEST_REDIS_URL = os.environ["TEST_REDIS_URL"] = worker_redis_url(TEST_REDIS_URL, XDIST_WORKER)
    os.environ["TEST_REDIS_URL_IS_PER_WORKER"] = "1"
vars().update(redis_settings(TEST_REDIS_URL))
# (issue 21) A test database is thrown away: a commit need not wait for the disk (a
# transactional test's rows and each flush after it commit often).
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":  # noqa: F405
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c synchronous_commit=off")  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# (issue 21) The WeChat client's wait between attempts after a temporary error: the tests
# assert how many attempts and what each left, not how long the client slept (0.5 s, 1 s…
# were some 35 s of sleeping in four test files).
WECHAT_HTTP_BACKOFF_SECONDS = 0.01
MEDIA_ROOT = BASE_DIR / "var" / "test-media" / XDIST_WORKER  # noqa: F405 (per worker under xdist)
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tests flush the message-log queue themselves (messaging.log_queue.flush): a thread
# holding a connection would keep the test database from being dropped.
# (A test server in another process turns it on: messaging/tests/servers.py.)
MESSAGE_LOG_FLUSHER_THREAD = env.bool("MESSAGE_LOG_FLUSHER_THREAD", default=False)
