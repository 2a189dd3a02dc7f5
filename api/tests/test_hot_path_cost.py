"""What one API call costs, counted instead of timed (issue 27): database queries and Redis
commands, asserted exactly, so that a change that adds one is caught."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from api.models import ApiCall
from messaging.tests.test_callback_cost import spy_redis

HOT_PATH = ["INCRBY", "EXPIRE", "GET", "GET", "RPUSH"]  # rate limit, key generation, token; audit row


@pytest.mark.django_db(transaction=True)
def test_a_token_read_costs_no_query_and_two_redis_round_trips(account, call, sandbox, monkeypatch):
    path = f"/accounts/{account.appid}/access-token"
    assert call(path).status_code == 200  # the token is now in the store, the key in the cache
    with spy_redis(monkeypatch) as spy, CaptureQueriesContext(connection) as queries:
        response = call(path, flush=False)
    assert response.status_code == 200
    assert [query["sql"] for query in queries] == []
    assert spy.commands == HOT_PATH
    assert spy.round_trips == 2
    assert sandbox.token_fetches(account.appid) == 1
    call(path)  # flushes the queue
    assert ApiCall.objects.filter(endpoint="access-token", outcome="ok").count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_jssdk_config_costs_no_query_and_two_redis_round_trips(account, call, sandbox, monkeypatch):
    path = f"/accounts/{account.appid}/jssdk-config"
    page = {"url": "https://m.example.com/p"}
    assert call(path, method="post", data=page).status_code == 200
    with spy_redis(monkeypatch) as spy, CaptureQueriesContext(connection) as queries:
        assert call(path, method="post", data=page, flush=False).status_code == 200
    assert [query["sql"] for query in queries] == []
    assert spy.commands == HOT_PATH
    assert spy.round_trips == 2


@pytest.mark.django_db(transaction=True)
def test_a_revoked_key_is_refused_at_once_despite_the_cache(account, call, client_key):
    from api import services

    path = f"/accounts/{account.appid}/access-token"
    assert call(path).status_code == 200  # cached now
    services.revoke_client(client=client_key[0], by=None)
    assert call(path).status_code == 401
