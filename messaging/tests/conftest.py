import pytest

from messaging.selectors import forget_callback_account, forget_rules


@pytest.fixture(autouse=True)
def _clean_messaging_state(redis_client):
    """Each test starts with no dedupe keys in Redis and no cached accounts."""
    forget_callback_account()
    forget_rules()
    yield
    forget_callback_account()
    forget_rules()
