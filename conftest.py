"""Fixtures shared by every app's tests. Tests use the real PostgreSQL/SQLite and Redis."""
import pytest
import redis
from django.conf import settings


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
