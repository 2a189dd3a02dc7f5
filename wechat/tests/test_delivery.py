"""What a WeChatError says about delivery, for WeChat's answers and for transport failures.

Two readers ask different questions: the token store counts every fetch that
reached WeChat (``request_sent``), the client (and the outbound sender) never
re-send a call that changes something once WeChat may have acted on it
(``may_have_acted``). WeChat's own error answers reached it and did nothing.
"""

import pickle
import socket

import pytest
import requests

from wechat.api import quota
from wechat.errors import ERR_BAD_RESPONSE, ERR_NETWORK, WeChatError
from wechat.tests.conftest import APPID, SECRET
from wechat.tests.test_client import make_client
from wechat.tokens import TokenStore
from wechat.transport import exchange


def closed_port_url() -> str:
    """A loopback URL nobody listens on: the connection is refused before anything is sent."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def exchange_error(url: str) -> WeChatError:
    with pytest.raises(WeChatError) as caught:
        exchange(requests.Session(), "POST", url, api="/x", data=b"{}", timeout=(1, 2))
    return caught.value


def test_wechat_error_answers_were_sent_and_not_acted_on(sb):
    sb.force_error("/cgi-bin/clear_quota", -1)
    error = exchange_error(sb.base_url + "/cgi-bin/clear_quota")
    assert (error.errcode, error.temporary) == (-1, True)
    assert error.request_sent and not error.may_have_acted
    plain = WeChatError(45009, "quota")  # the defaults describe such an answer
    assert plain.request_sent and not plain.may_have_acted


def test_transport_failure_after_sending_may_have_been_acted_on(sb):
    sb.force_error("/cgi-bin/clear_quota", "drop")
    dropped = exchange_error(sb.base_url + "/cgi-bin/clear_quota")
    sb.force_error("/cgi-bin/clear_quota", "http502")
    bad_gateway = exchange_error(sb.base_url + "/cgi-bin/clear_quota")
    assert dropped.errcode == ERR_NETWORK and bad_gateway.errcode == ERR_BAD_RESPONSE
    for error in (dropped, bad_gateway):
        assert error.request_sent and error.may_have_acted


def test_transport_failure_before_sending_was_not_sent():
    error = exchange_error(closed_port_url() + "/cgi-bin/clear_quota")
    assert (error.errcode, error.temporary) == (ERR_NETWORK, True)
    assert not error.request_sent and not error.may_have_acted


def test_delivery_survives_pickling():
    error = WeChatError(ERR_NETWORK, "ReadTimeout", api="/x", request_sent=True, may_have_acted=True)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.request_sent, copy.may_have_acted) == (True, True)
    refused = pickle.loads(pickle.dumps(WeChatError(ERR_NETWORK, "ConnectionError", request_sent=False)))
    assert (refused.request_sent, refused.may_have_acted) == (False, False)


def test_client_resends_a_changing_call_after_a_busy_answer_but_not_after_a_drop(sb, redis_client):
    sleeps = []
    client = make_client(sb, redis_client, sleeps=sleeps)
    sb.force_error("/cgi-bin/clear_quota", -1)
    quota.clear(client)  # WeChat said "busy" and did nothing: sent again
    assert len(sleeps) == 1
    sb.force_error("/cgi-bin/clear_quota", "drop")
    with pytest.raises(WeChatError) as caught:
        quota.clear(client)
    assert caught.value.errcode == ERR_NETWORK and len(sleeps) == 1  # not sent twice


def test_token_fetches_are_counted_when_they_reached_wechat(sb, redis_client):
    store = TokenStore(redis_client, base_url=sb.base_url, lock_lease_seconds=5)
    sb.force_error("/cgi-bin/token", -1)  # a busy answer, then a token on the retry
    store.get_token(APPID, SECRET)
    assert store.status(APPID).fetches_today == 2
    unreachable = TokenStore(redis_client, base_url=closed_port_url(), key_prefix="wechat-closed:")
    with pytest.raises(WeChatError) as caught:
        unreachable.get_token(APPID, SECRET)
    assert caught.value.errcode == ERR_NETWORK
    status = unreachable.status(APPID)
    assert status is not None and status.fetches_today == 0 and status.last_errcode == ERR_NETWORK
