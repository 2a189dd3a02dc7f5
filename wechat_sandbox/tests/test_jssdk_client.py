"""The JS-SDK area against the sandbox over HTTP and real Redis: the signature by WeChat's
worked example, and one ticket fetch per expiry however many threads ask (protocol §h)."""

import threading

import pytest
import redis
from django.conf import settings

from wechat.api import jssdk
from wechat.errors import WeChatError
from wechat.tests.conftest import APPID
from wechat.tests.test_client import make_client
from wechat_sandbox.areas.jssdk import current_ticket, ticket_fetches

EXAMPLE_TICKET = "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg"


def test_the_signature_matches_the_official_worked_example():
    assert (
        jssdk.signature(
            ticket=EXAMPLE_TICKET,
            noncestr="Wm3WZYTPz0wzccnW",
            timestamp=1414587457,
            url="http://mp.weixin.qq.com?params=value",
        )
        == "0f9de62fce790f9a083d5c99e95740ceb90c27ed"
    )


def test_the_fragment_is_not_signed():
    args = {"ticket": EXAMPLE_TICKET, "noncestr": "n", "timestamp": 1}
    assert jssdk.signature(url="https://a.example/p?x=1#/route", **args) == jssdk.signature(
        url="https://a.example/p?x=1", **args
    )


def test_the_ticket_is_fetched_once_and_then_read_from_redis(sb, redis_client):
    client = make_client(sb, redis_client)
    store = jssdk.TicketStore(redis_client)
    first = store.get_ticket(client)
    assert first == current_ticket(sb, APPID)
    assert store.get_ticket(client) == first
    assert ticket_fetches(sb, APPID) == 1
    assert sb.state(APPID)["jssdk"]["fetches"] == {"jsapi": 1}
    assert first not in str(sb.state(APPID))  # the state shows fingerprints only


def test_a_ticket_near_its_expiry_is_fetched_again_once(sb, redis_client):
    client = make_client(sb, redis_client)
    store = jssdk.TicketStore(redis_client)
    store.get_ticket(client)
    store.clock = lambda: 10**10  # past the expiry
    redis_client.set(store.ticket_key(APPID), f"{int(store.clock() * 1000) + 1000}|old")
    assert store.get_ticket(client) != "old"
    assert ticket_fetches(sb, APPID) == 2


def test_many_threads_cause_one_fetch(sb):
    results: list[str] = []
    errors: list[BaseException] = []
    gate = threading.Barrier(16)

    def ask():
        connection = redis.Redis.from_url(settings.REDIS_URL)
        store = jssdk.TicketStore(connection)
        gate.wait()
        try:
            results.append(store.get_ticket(make_client(sb, connection)))
        except BaseException as error:
            errors.append(error)

    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    sb.latency_ms = 50  # the fetch takes long enough for every thread to be waiting
    threads = [threading.Thread(target=ask) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(set(results)) == 1
    assert ticket_fetches(sb, APPID) == 1


def test_a_bad_ticket_type_is_refused_like_wechat(sb, redis_client):
    with pytest.raises(WeChatError) as caught:
        jssdk.get_ticket(make_client(sb, redis_client), "nope")
    assert caught.value.errcode == 40097
