import pytest

from messaging.db_guard import forget_database_failures
from messaging.receiving import forget_redis_failures
from messaging.selectors import forget_callback_account, forget_rules


@pytest.fixture(autouse=True)
def _clean_messaging_state(redis_client):
    """Each test starts with no dedupe keys in Redis, no cached accounts and no memory of
    an earlier test's Redis or database failure."""
    forget_callback_account()
    forget_rules()
    forget_redis_failures()
    forget_database_failures()
    yield
    forget_callback_account()
    forget_rules()
    forget_redis_failures()
    forget_database_failures()
