"""Every outbound call of the web tier has a timeout (issue 10, item 4)."""

import pytest
from django.conf import settings
from django.db import connection

from core.timeouts import limit_web_statements, unlimit_web_statements


def test_redis_clients_of_the_web_tier_have_timeouts():
    from messaging.receiving import redis_client

    options = settings.CACHES["default"]["OPTIONS"]
    assert options["socket_timeout"] > 0 and options["socket_connect_timeout"] > 0
    callback = redis_client().connection_pool.connection_kwargs
    assert callback["socket_timeout"] == settings.WECHAT_CALLBACK_REDIS_TIMEOUT <= 0.5
    assert callback["socket_connect_timeout"] == settings.WECHAT_CALLBACK_REDIS_TIMEOUT


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_web_connections_have_a_connect_and_a_statement_timeout(settings):
    assert connection.settings_dict["OPTIONS"]["connect_timeout"] == 3
    settings.WEB_STATEMENT_TIMEOUT_MS = 1234
    limit_web_statements()
    try:
        connection.close()
        with connection.cursor() as cursor:
            cursor.execute("SHOW statement_timeout")
            assert cursor.fetchone()[0] == "1234ms"
    finally:
        unlimit_web_statements()
        connection.close()
    with connection.cursor() as cursor:  # workers and commands are not limited
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "0"
