import pytest

from messaging.selectors import forget_callback_account


@pytest.fixture(autouse=True)
def _clean_messaging_state(redis_client):
    """Each test starts with no dedupe keys in Redis and no cached accounts."""
    forget_callback_account()
    yield
    forget_callback_account()
