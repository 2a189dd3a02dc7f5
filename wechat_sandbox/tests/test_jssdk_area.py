"""The sandbox's JS-SDK area (protocol §h) over loopback HTTP with real Redis: what getticket
issues, how long a jsapi_ticket works, what ends it early, and what the phone's `wx.config`
says of a signature made with it (issue 27)."""

import time

import pytest
import requests

from wechat.api import jssdk
from wechat.tests.conftest import APPID
from wechat.tests.test_client import make_client
from wechat_sandbox.areas.jssdk import config_check, current_ticket, expire_tickets, ticket_fetches

PAGE = "https://m.example.com/shop?id=7"


def wx_config(sb, ticket, *, url=PAGE, signed_url=None, timestamp=1767000000, nonce="nonce-1"):
    """Sign as the API does, then ask the sandbox's phone whether wx.config accepts it."""
    signature = jssdk.signature(ticket=ticket, noncestr=nonce, timestamp=timestamp, url=signed_url or url)
    answer = requests.post(
        f"{sb.base_url}/sandbox/jssdk/{APPID}/config",
        json={"url": url, "timestamp": timestamp, "nonceStr": nonce, "signature": signature},
        timeout=5,
    ).json()
    return answer["errMsg"]


@pytest.fixture
def clock(sb):
    """The sandbox's clock, moved by hand."""
    now = [time.time()]
    sb.clock = lambda: now[0]
    return now


def test_getticket_lives_as_long_as_a_token_and_is_counted_per_type(sb, redis_client):
    sb.token_ttl = 5400
    client = make_client(sb, redis_client)
    answer = jssdk.get_ticket(client)
    assert answer["expires_in"] == 5400 and answer["ticket"] == current_ticket(sb, APPID)
    jssdk.get_ticket(client, "wx_card")
    jssdk.get_ticket(client)
    assert ticket_fetches(sb, APPID) == 2 and ticket_fetches(sb, APPID, "wx_card") == 1
    state = sb.state(APPID)["jssdk"]
    assert state["fetches"] == {"jsapi": 2, "wx_card": 1}
    assert answer["ticket"] not in str(sb.state(APPID))  # fingerprints only


def test_a_signature_made_with_the_current_ticket_passes_wx_config(sb, redis_client):
    ticket = jssdk.TicketStore(redis_client).get_ticket(make_client(sb, redis_client))
    assert wx_config(sb, ticket) == "config:ok"
    # the page's URL with a fragment: signed without it, as WeChat wants
    assert wx_config(sb, ticket, url=PAGE + "#/cart", signed_url=PAGE + "#/cart") == "config:ok"
    # another page, another ticket, a wrong timestamp: refused
    assert wx_config(sb, ticket, url=PAGE + "&x=1", signed_url=PAGE) == "config:invalid signature"
    assert wx_config(sb, "not-the-ticket") == "config:invalid signature"
    signature = jssdk.signature(ticket=ticket, noncestr="n", timestamp=1, url=PAGE)
    assert not config_check(sb, APPID, url=PAGE, timestamp="2", noncestr="n", signature=signature)


def test_a_ticket_stops_working_when_it_expires(sb, redis_client, clock):
    ticket = jssdk.get_ticket(make_client(sb, redis_client))["ticket"]
    clock[0] += sb.token_ttl - 1
    assert wx_config(sb, ticket) == "config:ok"
    clock[0] += 2
    assert wx_config(sb, ticket) == "config:invalid signature"
    assert sb.state(APPID)["jssdk"]["current_expires_at"]["jsapi"] < clock[0]


def test_a_new_ticket_leaves_the_previous_one_working_until_it_expires(sb, redis_client, clock):
    client = make_client(sb, redis_client)
    first = jssdk.get_ticket(client)["ticket"]
    clock[0] += 600
    second = jssdk.get_ticket(client)["ticket"]
    assert second != first
    assert wx_config(sb, first) == wx_config(sb, second) == "config:ok"
    clock[0] += sb.token_ttl - 599  # the first has run out, the second has not
    assert wx_config(sb, first) == "config:invalid signature"
    assert wx_config(sb, second) == "config:ok"


def test_the_store_fetches_again_once_the_cached_ticket_nears_its_end(sb, redis_client):
    """Real time, a 3-second ticket: the Redis entry ends with the ticket, and the store fetches
    one new ticket after the margin, which wx.config accepts."""
    sb.token_ttl = 3
    store = jssdk.TicketStore(redis_client, margin_seconds=1)
    client = make_client(sb, redis_client)
    first = store.get_ticket(client)
    assert 0 < redis_client.pttl(store.ticket_key(APPID)) <= 3000
    assert store.get_ticket(client) == first
    time.sleep(2.1)
    second = store.get_ticket(client)
    assert second != first and ticket_fetches(sb, APPID) == 2
    assert store.get_ticket(client) == second and ticket_fetches(sb, APPID) == 2
    assert wx_config(sb, second) == "config:ok"
    time.sleep(1.2)  # the first ticket's life is over
    assert wx_config(sb, first) == "config:invalid signature"


def test_a_ticket_ended_early_is_replaced_once_by_compare_and_expire(sb, redis_client):
    store = jssdk.TicketStore(redis_client)
    client = make_client(sb, redis_client)
    old = store.get_ticket(client)
    response = requests.post(f"{sb.base_url}/sandbox/jssdk/{APPID}/expire", timeout=5)
    assert response.json() == {"errcode": 0, "expired": 1}
    assert wx_config(sb, old) == "config:invalid signature"
    assert store.get_ticket(client) == old  # the store cannot know by itself
    assert store.expire_if_current(APPID, old)
    new = store.get_ticket(client)
    assert new != old and wx_config(sb, new) == "config:ok"
    assert not store.expire_if_current(APPID, old)  # a stale report keeps the new ticket
    assert store.get_ticket(client) == new and ticket_fetches(sb, APPID) == 2
    assert expire_tickets(sb, "wx-unknown") == 0


def test_getticket_with_an_expired_token_refreshes_the_token_once_then_issues(sb, redis_client):
    client = make_client(sb, redis_client)
    jssdk.get_ticket(client)
    assert sb.token_fetches(APPID) == 1
    sb.expire_tokens(APPID)  # WeChat answers 42001 to the cached token
    store = jssdk.TicketStore(redis_client)
    ticket = store.get_ticket(client)
    assert wx_config(sb, ticket) == "config:ok"
    assert sb.token_fetches(APPID) == 2 and ticket_fetches(sb, APPID) == 2


def test_the_phone_knows_no_unknown_account(sb):
    response = requests.post(f"{sb.base_url}/sandbox/jssdk/wxnobody/config", json={}, timeout=5)
    assert response.status_code == 404


def test_near_its_end_one_caller_renews_the_ticket_and_the_others_do_not_wait(sb, redis_client):
    """Refresh ahead (issue 27's p99): inside the margin the current ticket is served at once
    while the lock's taker fetches the next; the client is made only by the one that fetches."""
    store = jssdk.TicketStore(redis_client, margin_seconds=300)
    made = []

    def factory():
        made.append(1)
        return make_client(sb, redis_client)

    first = store.get_ticket(factory, appid=APPID)
    store.clock = lambda: time.time() + sb.token_ttl - 200  # 200 s left: inside the margin
    redis_client.set(store.lock_key(APPID), "someone-else", px=5000)  # another caller is renewing
    assert store.get_ticket(factory, appid=APPID) == first and len(made) == 1
    redis_client.delete(store.lock_key(APPID))
    sb.force_error("/cgi-bin/ticket/getticket", 45009, times=1)  # not retried
    assert store.get_ticket(factory, appid=APPID) == first  # WeChat failed: the current one still
    second = store.get_ticket(factory, appid=APPID)
    assert second != first and ticket_fetches(sb, APPID) == 2
    assert wx_config(sb, first) == wx_config(sb, second) == "config:ok"
