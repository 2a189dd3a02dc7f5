"""What one access-token call costs, counted instead of timed (issue 27): database queries and
Redis commands, asserted exactly, so that a change that adds one is caught."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging.tests.test_callback_cost import spy_redis


@pytest.mark.django_db(transaction=True)
def test_a_token_read_costs_two_queries_and_one_redis_round_trip(account, call, sandbox, monkeypatch):
    path = f"/accounts/{account.appid}/access-token"
    assert call(path).status_code == 200  # the token is now in the store
    with spy_redis(monkeypatch) as spy, CaptureQueriesContext(connection) as queries:
        response = call(path)
    assert response.status_code == 200
    sql = [query["sql"].split()[0] for query in queries]
    assert sql == ["SELECT", "INSERT"]  # the key with its client and account; the audit row
    assert spy.commands == ["INCRBY", "EXPIRE", "GET"]  # rate limit and the cached token, pipelined
    assert spy.round_trips == 1
    assert sandbox.token_fetches(account.appid) == 1


@pytest.mark.django_db(transaction=True)
def test_a_jssdk_config_costs_three_queries_and_one_redis_round_trip(account, call, sandbox, monkeypatch):
    path = f"/accounts/{account.appid}/jssdk-config"
    page = {"url": "https://m.example.com/p"}
    assert call(path, method="post", data=page).status_code == 200
    with spy_redis(monkeypatch) as spy, CaptureQueriesContext(connection) as queries:
        assert call(path, method="post", data=page).status_code == 200
    # the key, the account's JS-SDK domains, the audit row
    assert [query["sql"].split()[0] for query in queries] == ["SELECT", "SELECT", "INSERT"]
    assert spy.commands == ["INCRBY", "EXPIRE", "GET"]
    assert spy.round_trips == 1
