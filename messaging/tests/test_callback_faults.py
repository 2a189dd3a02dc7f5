"""The callback answers within WeChat's 5 s whatever Redis or PostgreSQL does (issue 10,
item 4), and nothing is lost when a web process dies (issue 13).

A real gunicorn serves the callback; PostgreSQL and Redis are reached through TCP proxies
that turn into black holes: connections accepted, requests swallowed, no answer ever.
"""

import threading
import time

import pytest
import requests

from accounts.tests.factories import OfficialAccountFactory
from messaging import log_queue
from messaging.models import InboundMessage
from messaging.tests.factories import KeywordRuleFactory
from messaging.tests.pushes import build_push, flush_log, open_reply, text_xml
from messaging.tests.servers import CallbackServer

REPLY = "九点到五点"
WECHAT_LIMIT_SECONDS = 5.0


def send(server, account, msg_id, timeout=30):
    query, body = build_push(account, text_xml(account, "营业时间", msg_id=msg_id))
    started = time.monotonic()
    response = requests.post(f"{server.url}/wechat/{account.appid}/?{query}", data=body, timeout=timeout)
    elapsed = time.monotonic() - started
    content = open_reply(account, response.content)["Content"] if response.ok else None
    return elapsed, response.status_code, content


def burst(server, account, msg_ids, timeout=30):
    """Send every push at the same moment, each on its own connection, like WeChat."""
    results = [None] * len(msg_ids)
    barrier = threading.Barrier(len(msg_ids))

    def one(index, msg_id):
        barrier.wait()
        started = time.monotonic()
        try:
            results[index] = send(server, account, msg_id, timeout)
        except requests.RequestException as exc:  # no answer at all
            results[index] = (time.monotonic() - started, type(exc).__name__, None)

    threads = [threading.Thread(target=one, args=pair) for pair in enumerate(msg_ids)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def rows_per_msg_id(account):
    counts: dict[int, int] = {}
    for msg_id in InboundMessage.objects.filter(account=account).values_list("msg_id", flat=True):
        counts[msg_id] = counts.get(msg_id, 0) + 1
    return counts


def pending(redis_client) -> int:
    """Queue entries a flusher has read and not acknowledged."""
    try:
        return redis_client.xpending(log_queue.STREAM, log_queue.GROUP)["pending"]
    except Exception:  # no group yet
        return 0


@pytest.fixture
def account(redis_client):
    account = OfficialAccountFactory(message_mode="safe")
    KeywordRuleFactory(account=account, pattern="营业时间", reply_text=REPLY)
    return account


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_redis_hung_a_burst_of_20_is_answered_in_time_and_stored_once(account):
    """Redis accepts connections and never answers: every push of a burst of 20 (ten
    messages, each delivered twice at once) gets the right reply well inside 5 s, and
    the database's unique constraint keeps one row per message."""
    server = CallbackServer()
    try:
        assert send(server, account, 1)[1:] == (200, REPLY)  # account and rules cached
        server.redis.hang()
        results = burst(server, account, list(range(100, 110)) * 2)
    finally:
        server.stop()
    assert [(status, content) for _elapsed, status, content in results] == [(200, REPLY)] * 20
    assert max(elapsed for elapsed, _status, _content in results) < WECHAT_LIMIT_SECONDS
    flush_log(claim_idle_ms=0)  # the warm-up push went through the queue
    assert rows_per_msg_id(account) == {1: 1, **{msg_id: 1 for msg_id in range(100, 110)}}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postgres_hung_a_burst_of_20_is_answered_and_nothing_lost_when_the_server_dies(account, redis_client):
    """PostgreSQL accepts connections and never answers: a burst of 20 pushes gets the
    right replies well inside 5 s (the callback needs no query once warm; the account's
    cache entry, expired meanwhile, is refreshed in the background and the stale copy
    serves). The web process is then SIGKILLed while its flusher is stuck on the
    database: every answered push is still written once PostgreSQL is back."""
    server = CallbackServer(WECHAT_CALLBACK_ACCOUNT_CACHE_SECONDS="1")
    try:
        assert send(server, account, 1)[1:] == (200, REPLY)
        server.postgres.hang()
        time.sleep(1.1)  # the cached account is now due for a refresh
        results = burst(server, account, list(range(200, 220)))
        deadline = time.monotonic() + 5  # until the flusher holds entries it cannot write
        while time.monotonic() < deadline and not pending(redis_client):
            time.sleep(0.05)
        server.kill()
    finally:
        server.stop()
    assert [(status, content) for _elapsed, status, content in results] == [(200, REPLY)] * 20
    assert max(elapsed for elapsed, _status, _content in results) < WECHAT_LIMIT_SECONDS
    # The dead server's flusher had read some entries and never acknowledged them.
    assert pending(redis_client) > 0
    flush_log(claim_idle_ms=0)  # another flusher takes over what the dead one held
    assert rows_per_msg_id(account) == {1: 1, **{msg_id: 1 for msg_id in range(200, 220)}}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postgres_hung_just_after_a_redis_failure_a_burst_is_answered_and_kept_in_redis(account):
    """bench/faults.py's order: Redis hangs (a burst is written through the database,
    leaving the threads' connections open: CONN_MAX_AGE), recovers, then PostgreSQL hangs
    while the callback still leaves Redis alone (it failed under 5 s ago). Those pushes
    write their rows through the database again: on a kept connection a hung server never
    answers, statement_timeout is never enforced, and when the query is cut Django
    reconnects to restore autocommit (the whole connect timeout again). Every push of a
    burst of 20 still gets the right reply well inside 5 s — each push's database work is
    cut by a client-side deadline, no reconnect is tried, then the database is left alone
    — and no row is lost: Redis, back, keeps them until PostgreSQL is."""
    server = CallbackServer(DATABASE_CONNECT_TIMEOUT="3")  # the project's default
    try:
        assert send(server, account, 1)[1:] == (200, REPLY)  # account and rules cached
        server.redis.hang()
        before = burst(server, account, list(range(2, 12)), timeout=15)
        server.redis.resume()
        server.postgres.hang()
        results = burst(server, account, list(range(300, 320)), timeout=15)
        server.postgres.resume()
    finally:
        server.stop()
    assert [(status, content) for _elapsed, status, content in before] == [(200, REPLY)] * 10
    assert [(status, content) for _elapsed, status, content in results] == [(200, REPLY)] * 20
    assert max(elapsed for elapsed, _status, _content in results) < WECHAT_LIMIT_SECONDS
    flush_log(claim_idle_ms=0)
    assert rows_per_msg_id(account) == {msg_id: 1 for msg_id in [*range(1, 12), *range(300, 320)]}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postgres_hung_an_account_not_yet_loaded_fails_fast_and_the_others_are_served(account):
    """The one gunicorn thread keeps its database connection open (CONN_MAX_AGE); then
    PostgreSQL hangs and a push arrives for an account this process has never loaded. It
    is refused with 503 (WeChat retries) within the push's deadline instead of waiting
    forever on the hung connection, and the thread is free: the cached account's next
    push is answered at once and its row waits in Redis."""
    other = OfficialAccountFactory(message_mode="safe")
    server = CallbackServer(threads=1)
    try:
        assert send(server, account, 1)[1:] == (200, REPLY)
        server.postgres.hang()
        started = time.monotonic()
        try:
            status = send(server, other, 2, timeout=10)[1]
        except requests.RequestException as exc:
            status = type(exc).__name__
        cold = time.monotonic() - started
        elapsed, *answer = send(server, account, 3, timeout=10)
        server.postgres.resume()
    finally:
        server.stop()
    assert (status, cold < WECHAT_LIMIT_SECONDS) == (503, True)
    assert answer == [200, REPLY] and elapsed < 1
    flush_log(claim_idle_ms=0)
    assert rows_per_msg_id(account) == {1: 1, 3: 1}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_redis_down_and_the_log_table_locked_the_reply_is_given_and_the_loss_logged(
    client, account, settings, caplog
):
    """Redis down, so the row is written in the request; the message table is locked by
    another session, so the INSERT is cancelled by the callback's own statement timeout
    (2 s). The user still gets the reply in time; the lost log row is reported in the log."""
    import psycopg
    from django.db import connection

    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
    ) as locker:
        locker.execute("LOCK TABLE messaging_inboundmessage IN ACCESS EXCLUSIVE MODE")
        query, body = build_push(account, text_xml(account, "营业时间", msg_id=77))
        started = time.monotonic()
        with caplog.at_level("ERROR"):
            response = client.post(f"/wechat/{account.appid}/?{query}", data=body, content_type="text/xml")
        elapsed = time.monotonic() - started
        locker.rollback()
    assert response.status_code == 200
    assert open_reply(account, response.content)["Content"] == REPLY
    assert 1.5 < elapsed < WECHAT_LIMIT_SECONDS  # waited for the lock, gave up at 2 s
    assert "not stored" in caplog.text
    assert not InboundMessage.objects.filter(account=account).exists()
