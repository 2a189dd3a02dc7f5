"""Settings for the test suite: real PostgreSQL (via DATABASE_URL) or SQLite, real Redis."""

from .base import *  # noqa: F403
from .base import env, redis_settings

DEBUG = False
SECRET_KEY = "test-secret-key-not-for-production"
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
FIELD_ENCRYPTION_KEYS = [
    "dGVzdC1rZXktb25lLTMyLWJ5dGVzLWxvbmctLS0tLS0=",
    "dGVzdC1rZXktdHdvLTMyLWJ5dGVzLWxvbmctLS0tLS0=",
]
# A Redis database of its own so that tests never touch `make run`'s data.
# (issue 9) REDIS_URL, the cache and the broker all from this one URL.
vars().update(redis_settings(env.str("TEST_REDIS_URL", default="redis://127.0.0.1:6379/15")))
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = BASE_DIR / "var" / "test-media"  # noqa: F405
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tests flush the message-log queue themselves (messaging.log_queue.flush): a thread
# holding a connection would keep the test database from being dropped.
# (A test server in another process turns it on: messaging/tests/servers.py.)
MESSAGE_LOG_FLUSHER_THREAD = env.bool("MESSAGE_LOG_FLUSHER_THREAD", default=False)
