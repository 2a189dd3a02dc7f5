"""The API client against the sandbox over HTTP and real Redis: retries, token recovery, encoding."""

import io
import logging
import threading

import pytest
import redis
import requests
from django.conf import settings

from wechat.api import custom_messages, customer_service, menus, quota
from wechat.client import WeChatClient
from wechat.errors import ERR_NETWORK, WeChatError
from wechat.tests.conftest import APPID, SECRET, WXID
from wechat.tokens import TokenStore


def make_client(sb, redis_client=None, *, sleeps=None, store=None, **options):
    store = store or TokenStore(
        redis_client or redis.Redis.from_url(settings.REDIS_URL), base_url=sb.base_url
    )
    return WeChatClient(
        APPID,
        SECRET,
        base_url=sb.base_url,
        token_store=store,
        session=requests.Session(),
        sleep=(sleeps.append if sleeps is not None else lambda s: None),
        **options,
    )


def test_menu_round_trip_with_chinese_names(sb, redis_client):
    client = make_client(sb, redis_client)
    with pytest.raises(WeChatError) as caught:
        menus.get(client)
    assert caught.value.errcode == 46003
    menus.create(client, {"button": [{"type": "click", "name": "今日歌曲", "key": "K1"}]})
    assert menus.get(client)["menu"]["button"][0]["name"] == "今日歌曲"
    assert menus.current_selfmenu_info(client)["selfmenu_info"]["button"][0]["key"] == "K1"
    menus.delete(client)
    assert sb.state(APPID)["menu"] is None


def test_json_is_sent_as_utf8_with_chinese_unescaped_and_a_content_type(sb, redis_client):
    seen = {}

    def capture(sandbox, request):
        seen.update(body=request.body, content_type=request.headers.get("content-type"))
        return {"errcode": 0}

    sb.add_route("POST", "/test/capture", capture)
    make_client(sb, redis_client).call("POST", "/test/capture", body={"name": "菜单"})
    assert seen["body"] == '{"name":"菜单"}'.encode()
    assert seen["content_type"] == "application/json; charset=utf-8"


def test_answers_are_decoded_as_utf8_whatever_the_content_type(sb, redis_client):
    sb.content_type = "text/plain"  # requests alone would decode this as ISO-8859-1
    client = make_client(sb, redis_client)
    customer_service.add_account(client, f"kf1@{WXID}", "客服小美")
    assert customer_service.list_accounts(client)[0]["kf_nick"] == "客服小美"


def test_temporary_errors_are_retried_with_exponential_backoff(sb, redis_client):
    sleeps = []
    client = make_client(sb, redis_client, sleeps=sleeps, backoff_seconds=0.5)
    sb.force_error("/cgi-bin/get_current_selfmenu_info", -1, times=1)
    sb.force_error("/cgi-bin/get_current_selfmenu_info", 45011, times=1)
    assert menus.current_selfmenu_info(client)["is_menu_open"] == 1
    assert len(sleeps) == 2 and 0.5 <= sleeps[0] < 0.65 and 1.0 <= sleeps[1] < 1.3


def test_retries_are_bounded(sb, redis_client):
    client = make_client(sb, redis_client, max_attempts=3)
    sb.force_error("/cgi-bin/get_current_selfmenu_info", -1, times=5)
    with pytest.raises(WeChatError) as caught:
        menus.current_selfmenu_info(client)
    assert caught.value.errcode == -1 and caught.value.temporary
    assert sb.state(APPID)["errors"]["-1"] == 3


def test_daily_quota_45009_is_not_retried_and_says_so(sb, redis_client):
    sb.quotas["/cgi-bin/menu/create"] = 0
    sleeps = []
    client = make_client(sb, redis_client, sleeps=sleeps)
    with pytest.raises(WeChatError) as caught:
        menus.create(client, {"button": [{"type": "click", "name": "a", "key": "k"}]})
    error = caught.value
    assert error.errcode == 45009 and not error.temporary and sleeps == []
    assert error.errmsg == "reach max api daily quota limit"  # rid suffix stripped
    assert "daily quota" in error.explanation and "not retried" in error.explanation
    assert error.api == "/cgi-bin/menu/create"
    assert sb.state(APPID)["errors"] == {"45009": 1}


def test_40001_after_a_competing_refresh_is_recovered_with_exactly_one_extra_fetch(sb, redis_client):
    sb.overlap_seconds = 0  # the competitor's fetch kills our token at once
    clients = [make_client(sb) for _ in range(8)]
    menus.current_selfmenu_info(clients[0])  # caches token 1
    # Someone else (another system with the same AppSecret) fetches a token: ours is dead.
    requests.get(
        f"{sb.base_url}/cgi-bin/token",
        params={"grant_type": "client_credential", "appid": APPID, "secret": SECRET},
    )
    assert sb.token_fetches(APPID) == 2
    sb.latency_ms = 150  # all eight send with the dead token before anyone refreshes
    barrier = threading.Barrier(len(clients))
    results = []

    def run(client):
        barrier.wait()
        results.append(menus.current_selfmenu_info(client)["is_menu_open"])

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [1] * 8
    assert sb.token_fetches(APPID) == 3  # exactly one extra fetch for all eight callers
    assert sb.state(APPID)["errors"]["40001"] == 8


class StaleFirstStore(TokenStore):
    """Hands out a stale token once, as a process that read the cache just before a refresh."""

    def __init__(self, *args, stale, **kwargs):
        super().__init__(*args, **kwargs)
        self.stale = stale

    def get_token(self, appid, secret, *, source="classic"):
        if self.stale:
            token, self.stale = self.stale, None
            return token
        return super().get_token(appid, secret, source=source)


def test_stale_40001_does_not_expire_a_token_another_process_already_refreshed(sb, redis_client):
    sb.overlap_seconds = 0
    other = TokenStore(redis_client, base_url=sb.base_url)
    old = other.get_token(APPID, SECRET)
    other.refresh(APPID, SECRET, force=True)  # another process refreshed: old is dead
    new = other.cached(APPID).token
    store = StaleFirstStore(redis_client, base_url=sb.base_url, stale=old)
    client = make_client(sb, store=store)
    assert menus.current_selfmenu_info(client)["is_menu_open"] == 1
    assert other.cached(APPID).token == new  # not thrown away
    assert sb.token_fetches(APPID) == 2  # and no fetch for the stale rejection


def test_token_errors_refresh_once_and_retry_once_never_a_loop(sb, redis_client):
    client = make_client(sb, redis_client)
    sb.force_error("/cgi-bin/get_current_selfmenu_info", 40001, times=5)
    with pytest.raises(WeChatError) as caught:
        menus.current_selfmenu_info(client)
    assert caught.value.errcode == 40001
    assert sb.state(APPID)["errors"]["40001"] == 2
    assert sb.token_fetches(APPID) == 2


def test_expired_token_42001_is_recovered(sb, redis_client):
    client = make_client(sb, redis_client)
    menus.current_selfmenu_info(client)
    sb.expire_tokens(APPID)
    assert menus.current_selfmenu_info(client)["is_menu_open"] == 1
    assert sb.token_fetches(APPID) == 2


def test_custom_message_is_not_resent_after_a_dropped_connection(sb, redis_client):
    openid = "oUser000000000000000000000001"
    sb.record_interaction(APPID, openid)
    client = make_client(sb, redis_client)
    menus.current_selfmenu_info(client)  # warm the token so the drop hits the send
    sb.force_error("/cgi-bin/message/custom/send", "drop", times=1)
    with pytest.raises(WeChatError) as caught:
        custom_messages.send_text(client, openid, "您好")
    assert caught.value.errcode == ERR_NETWORK
    assert sb.state(APPID)["sent_messages"] == []  # not retried blindly


def test_idempotent_call_is_retried_after_a_dropped_connection(sb, redis_client):
    client = make_client(sb, redis_client)
    menus.current_selfmenu_info(client)
    sb.force_error("/cgi-bin/menu/create", "drop", times=1)
    menus.create(client, {"button": [{"type": "click", "name": "a", "key": "k"}]})
    assert sb.state(APPID)["menu"]["button"][0]["key"] == "k"


def test_send_text_as_a_kf_account(sb, redis_client):
    openid = "oUser000000000000000000000001"
    sb.record_interaction(APPID, openid)
    client = make_client(sb, redis_client)
    customer_service.add_account(client, f"kf1@{WXID}", "一号")
    custom_messages.send_text(client, openid, "您好", kf_account=f"kf1@{WXID}")
    sent = sb.state(APPID)["sent_messages"][0]
    assert sent["text"]["content"] == "您好" and sent["kf_account"] == f"kf1@{WXID}"


def test_kf_endpoints(sb, redis_client):
    client = make_client(sb, redis_client)
    kf = f"kf1@{WXID}"
    customer_service.add_account(client, kf, "一号")
    customer_service.update_account(client, kf, "二号")
    customer_service.upload_avatar(client, kf, io.BytesIO(b"\xff\xd8\xff" + b"0" * 50), "a.jpg")
    customer_service.invite_worker(client, kf, "worker_wx1")
    sb.accept_kf_invite(APPID, kf)
    sb.set_kf_online(APPID, kf)
    openid = "oUser000000000000000000000001"
    customer_service.create_session(client, kf, openid)
    assert customer_service.get_session(client, openid)["kf_account"] == kf
    assert customer_service.list_sessions(client, kf)[0]["openid"] == openid
    assert customer_service.list_online(client)[0]["accepted_case"] == 1
    assert customer_service.wait_cases(client)["count"] == 0
    customer_service.close_session(client, kf, openid)
    assert customer_service.list_accounts(client)[0]["kf_nick"] == "二号"
    customer_service.delete_account(client, kf)
    assert customer_service.list_accounts(client) == []
    with pytest.raises(WeChatError) as caught:
        customer_service.add_account(client, "bad@other", "x")
    assert caught.value.errcode == 65404


def test_network_errors_never_carry_the_token_or_url(sb, redis_client, caplog):
    caplog.set_level(logging.DEBUG, logger="wechat")
    live = make_client(sb, redis_client)
    menus.current_selfmenu_info(live)
    token = live.token_store.cached(APPID).token
    dead = WeChatClient(
        APPID, SECRET, base_url="http://127.0.0.1:9", token_store=live.token_store, sleep=lambda s: None
    )
    with pytest.raises(WeChatError) as caught:
        menus.current_selfmenu_info(dead)
    error = caught.value
    assert error.errcode == ERR_NETWORK and error.temporary
    assert error.__cause__ is None and error.__suppress_context__
    assert token not in str(error) and token not in caplog.text and SECRET not in caplog.text
    assert SECRET not in repr(dead)


def test_stable_token_source_is_used_when_configured(sb, redis_client):
    client = make_client(sb, redis_client, token_source="stable")
    menus.current_selfmenu_info(client)
    assert sb.token_fetches(APPID, "stable") == 1 and sb.token_fetches(APPID, "classic") == 0


def test_conditional_menu_clear_quota_and_typing(sb, redis_client):
    client = make_client(sb, redis_client)
    menus.create(client, {"button": [{"type": "click", "name": "默认", "key": "D"}]})
    menuid = menus.add_conditional(
        client,
        {
            "button": [{"type": "click", "name": "安卓", "key": "A"}],
            "matchrule": {"client_platform_type": "2"},
        },
    )
    assert menus.get(client)["conditionalmenu"][0]["menuid"] == int(menuid)
    assert menus.try_match(client, "oUser000000000000000000000001")["button"][0]["key"] == "D"
    menus.delete_conditional(client, menuid)
    quota.clear(client)
    openid = "oUser000000000000000000000001"
    sb.record_interaction(APPID, openid)
    custom_messages.typing(client, openid)
    custom_messages.typing(client, openid, typing=False)


class CountingStore(TokenStore):
    """Counts the reads a client makes of the token store."""

    reads = 0

    def get_cached(self, appid, secret, *, source="classic"):
        self.reads += 1
        return super().get_cached(appid, secret, source=source)


def test_a_client_reusing_its_token_reads_the_store_once_per_window(sb, redis_client):
    """A sender's client (token_reuse_seconds) makes one Redis read for many calls; a client
    without it reads the store on every call."""
    reusing = CountingStore(redis_client, base_url=sb.base_url)
    client = make_client(sb, store=reusing, token_reuse_seconds=60)
    plain = CountingStore(redis_client, base_url=sb.base_url)
    other = make_client(sb, store=plain)
    for _ in range(5):
        assert menus.current_selfmenu_info(client)["is_menu_open"] == 1
        assert menus.current_selfmenu_info(other)["is_menu_open"] == 1
    assert reusing.reads == 1
    assert plain.reads == 5
    assert sb.token_fetches(APPID) == 1


def test_a_reused_token_that_wechat_rejects_is_dropped_and_read_again(sb, redis_client):
    """Another system replaced the token (no overlap): the reused one is rejected once, the
    client expires it compare-and-expire, reads the new one, and keeps using that."""
    sb.overlap_seconds = 0
    store = CountingStore(redis_client, base_url=sb.base_url)
    client = make_client(sb, store=store, token_reuse_seconds=60)
    menus.current_selfmenu_info(client)
    TokenStore(redis_client, base_url=sb.base_url).refresh(APPID, SECRET, force=True)
    for _ in range(3):
        assert menus.current_selfmenu_info(client)["is_menu_open"] == 1
    assert sb.state(APPID)["errors"]["40001"] == 1
    assert store.reads == 2
    assert sb.token_fetches(APPID) == 2
