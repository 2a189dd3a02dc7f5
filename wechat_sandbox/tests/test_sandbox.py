"""The offline WeChat API behaves like WeChat (docs/wechat-protocol.md §a–c), over real HTTP."""

import json

import pytest
import requests

from wechat.tests.conftest import APPID, SECRET, WXID


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


def get_token(sb, http, **overrides):
    params = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET, **overrides}
    return http.get(f"{sb.base_url}/cgi-bin/token", params=params).json()


def call(sb, http, method, path, token, body=None, **params):
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
    r = http.request(method, f"{sb.base_url}{path}", params={"access_token": token, **params}, data=data)
    return json.loads(r.content.decode("utf-8"))


# --- tokens -------------------------------------------------------------------------------------
def test_token_is_issued_with_expires_in(sb, http):
    answer = get_token(sb, http)
    assert answer["expires_in"] == 7200 and len(answer["access_token"]) > 100


@pytest.mark.parametrize(
    ("overrides", "errcode"),
    [
        ({"appid": "wxffffffffffffffff"}, 40013),
        ({"secret": "f" * 32}, 40125),
        ({"grant_type": "password"}, 40002),
        ({"appid": ""}, 41002),
        ({"secret": ""}, 41004),
    ],
)
def test_token_errors_match_wechat(sb, http, overrides, errcode):
    answer = get_token(sb, http, **overrides)
    assert answer["errcode"] == errcode
    assert " rid: " in answer["errmsg"]  # like the real suffix


def test_ip_not_in_whitelist_gets_40164(sb, http):
    sb.register_app(APPID, SECRET, wechat_id=WXID, ip_whitelist=["10.1.2.3"])
    assert get_token(sb, http)["errcode"] == 40164


def test_new_classic_token_invalidates_previous_after_overlap(sb, http):
    now = [1_700_000_000.0]
    sb.clock = lambda: now[0]
    first = get_token(sb, http)["access_token"]
    second = get_token(sb, http)["access_token"]
    assert call(sb, http, "GET", "/cgi-bin/get_current_selfmenu_info", first)["is_menu_open"] == 1
    now[0] += 299
    assert "errcode" not in call(sb, http, "GET", "/cgi-bin/get_current_selfmenu_info", first)
    now[0] += 2
    assert call(sb, http, "GET", "/cgi-bin/get_current_selfmenu_info", first)["errcode"] == 40001
    assert "errcode" not in call(sb, http, "GET", "/cgi-bin/get_current_selfmenu_info", second)


def test_token_expires_after_ttl_with_42001(sb, http):
    now = [1_700_000_000.0]
    sb.clock = lambda: now[0]
    sb.token_ttl = 60
    token = get_token(sb, http)["access_token"]
    now[0] += 61
    assert call(sb, http, "GET", "/cgi-bin/menu/get", token)["errcode"] == 42001


def test_missing_and_malformed_tokens(sb, http):
    assert call(sb, http, "GET", "/cgi-bin/menu/get", "")["errcode"] == 41001
    assert call(sb, http, "GET", "/cgi-bin/menu/get", "bad token!")["errcode"] == 40014
    assert call(sb, http, "GET", "/cgi-bin/menu/get", "A" * 40)["errcode"] == 40001


def stable(sb, http, force=False, secret=SECRET):
    body = {"grant_type": "client_credential", "appid": APPID, "secret": secret, "force_refresh": force}
    # No Content-Type header on purpose: WeChat accepts JSON bodies without one.
    return http.post(f"{sb.base_url}/cgi-bin/stable_token", data=json.dumps(body)).json()


def test_stable_token_is_the_same_in_normal_mode_and_separate_from_classic(sb, http):
    now = [1_700_000_000.0]
    sb.clock = lambda: now[0]
    a = stable(sb, http)
    now[0] += 100
    b = stable(sb, http)
    assert a["access_token"] == b["access_token"] and b["expires_in"] == 7100
    get_token(sb, http)  # a classic fetch does not touch the stable token
    assert "errcode" not in call(sb, http, "GET", "/cgi-bin/get_current_selfmenu_info", a["access_token"])


def test_stable_token_renews_in_its_last_five_minutes(sb, http):
    now = [1_700_000_000.0]
    sb.clock = lambda: now[0]
    a = stable(sb, http)
    now[0] += 7200 - 299
    b = stable(sb, http)
    assert b["access_token"] != a["access_token"] and b["expires_in"] == 7200
    assert call(sb, http, "GET", "/cgi-bin/menu/delete", a["access_token"])["errcode"] == 0


def test_stable_force_refresh_kills_old_token_and_is_rate_limited(sb, http):
    now = [1_700_000_000.0]
    sb.clock = lambda: now[0]
    a = stable(sb, http)
    b = stable(sb, http, force=True)
    assert b["access_token"] != a["access_token"]
    assert call(sb, http, "GET", "/cgi-bin/menu/delete", a["access_token"])["errcode"] == 40001
    now[0] += 10
    assert stable(sb, http, force=True)["access_token"] == b["access_token"]  # < 30 s apart
    for _ in range(19):
        now[0] += 31
        assert "access_token" in stable(sb, http, force=True)
    now[0] += 31
    assert stable(sb, http, force=True)["errcode"] == 45009  # > 20 a day


def test_stable_token_wrong_secret(sb, http):
    assert stable(sb, http, secret="f" * 32)["errcode"] == 40125


def test_daily_quota_gives_45009_and_is_configurable(sb, http):
    sb.register_app(APPID, SECRET, wechat_id=WXID, quotas={"/cgi-bin/token": 2})
    get_token(sb, http)
    token = get_token(sb, http)["access_token"]
    answer = get_token(sb, http)
    assert answer["errcode"] == 45009 and "daily quota" in answer["errmsg"]
    sb.quotas["/cgi-bin/menu/get"] = 1
    assert call(sb, http, "GET", "/cgi-bin/menu/get", token)["errcode"] == 46003
    assert call(sb, http, "GET", "/cgi-bin/menu/get", token)["errcode"] == 45009


# --- menus ---------------------------------------------------------------------------------------
def menu_create(sb, http, body):
    token = get_token(sb, http)["access_token"]
    return call(sb, http, "POST", "/cgi-bin/menu/create", token, body), token


VIEW = {"type": "view", "name": "官网", "url": "https://example.com/"}
CLICK = {"type": "click", "name": "今日歌曲", "key": "V1001_TODAY_MUSIC"}


@pytest.mark.parametrize(
    ("buttons", "errcode"),
    [
        ([], 40016),
        ([CLICK] * 4, 40016),
        ([{"type": "bogus", "name": "x", "key": "k"}], 40017),
        ([{**CLICK, "name": "五个中文字"}], 40018),  # 15 bytes: fine...
        ([{**CLICK, "name": "六个中文字符"}], 40018),  # 18 bytes > 16
        ([{**CLICK, "key": ""}], 40019),
        ([{**CLICK, "key": "k" * 129}], 40019),
        ([{**VIEW, "url": ""}], 40020),
        ([{**VIEW, "url": "https://e.com/" + "a" * 1011}], 40020),
        ([{"name": "菜单", "sub_button": [CLICK] * 6}], 40023),
        ([{"name": "菜单", "sub_button": [{**CLICK, "type": "bogus"}]}], 40024),
        ([{"name": "菜单", "sub_button": [{**CLICK, "name": "字" * 21}]}], 40025),
        ([{"name": "菜单", "sub_button": [{**CLICK, "key": "k" * 129}]}], 40026),
        ([{"name": "菜单", "sub_button": [{**VIEW, "url": ""}]}], 40027),
        ([{"name": "菜单", "sub_button": [{**VIEW, "url": "ftp://example.com/"}]}], 40054),
        ([{**VIEW, "url": "example.com/page"}], 40055),
        ([{"name": "菜单", "sub_button": [{**CLICK, "sub_button": [CLICK]}]}], 40022),
        ([{"name": "菜单"}], 41007),
        (
            [
                {
                    "name": "菜单",
                    "sub_button": [{**VIEW, "url": f"https://d{i}.example.com/"} for i in range(4)],
                }
            ],
            65316,
        ),
    ],
)
def test_menu_validation_codes(sb, http, buttons, errcode):
    answer, _ = menu_create(sb, http, {"button": buttons})
    if buttons and buttons[0].get("name") == "五个中文字":
        assert answer["errcode"] == 0
    else:
        assert answer["errcode"] == errcode, answer


def test_sub_button_name_limit_is_60_bytes(sb, http):
    ok, _ = menu_create(
        sb, http, {"button": [{"name": "菜单", "sub_button": [{**CLICK, "name": "字" * 20}]}]}
    )
    assert ok["errcode"] == 0


def test_miniprogram_buttons_need_a_certified_account(sb, http):
    sb.register_app(APPID, SECRET, wechat_id=WXID, certified=False)
    mini = {
        "type": "miniprogram",
        "name": "小程序",
        "url": "https://example.com/",
        "appid": "wx286b93c14bbf93aa",
        "pagepath": "pages/lunar/index",
    }
    assert menu_create(sb, http, {"button": [mini]})[0]["errcode"] == 40119
    assert menu_create(sb, http, {"button": [{"name": "菜单", "sub_button": [mini]}]})[0]["errcode"] == 40120
    sb.register_app(APPID, SECRET, wechat_id=WXID, certified=True)
    assert menu_create(sb, http, {"button": [mini]})[0]["errcode"] == 0


def test_menu_get_and_selfmenu_shapes_and_delete(sb, http):
    body = {"button": [CLICK, {"name": "菜单", "sub_button": [VIEW, {**CLICK, "key": "K2"}]}]}
    token = get_token(sb, http)["access_token"]
    assert call(sb, http, "GET", "/cgi-bin/menu/get", token)["errcode"] == 46003
    assert call(sb, http, "POST", "/cgi-bin/menu/create", token, body)["errcode"] == 0
    got = call(sb, http, "GET", "/cgi-bin/menu/get", token)
    assert got["menu"]["button"][0] == {**CLICK, "sub_button": []}
    assert got["menu"]["button"][1]["sub_button"][0] == {**VIEW, "sub_button": []}
    info = call(sb, http, "GET", "/cgi-bin/get_current_selfmenu_info", token)
    assert info["is_menu_open"] == 1
    assert info["selfmenu_info"]["button"][1]["sub_button"]["list"][0] == VIEW
    assert sb.state(APPID)["menu"]["button"][0]["key"] == "V1001_TODAY_MUSIC"
    assert call(sb, http, "GET", "/cgi-bin/menu/delete", token)["errcode"] == 0
    assert call(sb, http, "GET", "/cgi-bin/menu/get", token)["errcode"] == 46003


def test_menu_body_that_is_not_json_gets_47001(sb, http):
    token = get_token(sb, http)["access_token"]
    r = http.post(f"{sb.base_url}/cgi-bin/menu/create", params={"access_token": token}, data=b"{not json")
    assert r.json()["errcode"] == 47001


# --- customer service ----------------------------------------------------------------------------
def test_kf_accounts_paths_errors_and_limit(sb, http):
    token = get_token(sb, http)["access_token"]
    add = "/customservice/kfaccount/add"
    assert (
        call(sb, http, "POST", add, token, {"kf_account": f"kf1@{WXID}", "nickname": "客服一号"})["errcode"]
        == 0
    )
    assert (
        call(sb, http, "POST", add, token, {"kf_account": f"kf1@{WXID}", "nickname": "x"})["errcode"] == 65406
    )
    assert (
        call(sb, http, "POST", add, token, {"kf_account": "kf2@other_id", "nickname": "x"})["errcode"]
        == 65404
    )
    assert (
        call(sb, http, "POST", add, token, {"kf_account": f"toolongprefix@{WXID}", "nickname": "x"})[
            "errcode"
        ]
        == 65404
    )
    assert (
        call(sb, http, "POST", add, token, {"kf_account": f"kf3@{WXID}", "nickname": "字" * 17})["errcode"]
        == 65403
    )
    # lists live under /cgi-bin/customservice/, management under /customservice/
    kf_list = call(sb, http, "GET", "/cgi-bin/customservice/getkflist", token)["kf_list"]
    assert kf_list[0]["kf_nick"] == "客服一号"
    assert call(sb, http, "GET", "/customservice/getkflist", token).get("errcode") == 404
    for i in range(2, 101):
        assert (
            call(sb, http, "POST", add, token, {"kf_account": f"k{i}@{WXID}", "nickname": "n"})["errcode"]
            == 0
        )
    assert (
        call(sb, http, "POST", add, token, {"kf_account": f"k101@{WXID}", "nickname": "n"})["errcode"]
        == 65405
    )
    # delete by GET (legacy) and by POST (current doc)
    assert (
        call(sb, http, "GET", "/customservice/kfaccount/del", token, kf_account=f"k2@{WXID}")["errcode"] == 0
    )
    assert (
        call(sb, http, "POST", "/customservice/kfaccount/del", token, {"kf_account": f"k3@{WXID}"})["errcode"]
        == 0
    )
    assert (
        call(sb, http, "POST", "/customservice/kfaccount/del", token, {"kf_account": f"k3@{WXID}"})["errcode"]
        == 65401
    )


def test_kf_disabled_gets_65400(sb, http):
    sb.register_app(APPID, SECRET, wechat_id=WXID, kf_enabled=False)
    token = get_token(sb, http)["access_token"]
    assert call(sb, http, "GET", "/cgi-bin/customservice/getkflist", token)["errcode"] == 65400


def test_kf_sessions_need_a_bound_online_worker(sb, http):
    token = get_token(sb, http)["access_token"]
    kf = f"kf1@{WXID}"
    call(sb, http, "POST", "/customservice/kfaccount/add", token, {"kf_account": kf, "nickname": "一号"})
    create = "/customservice/kfsession/create"
    openid = "oUser000000000000000000000001"
    assert call(sb, http, "POST", create, token, {"kf_account": kf, "openid": openid})["errcode"] == 65402
    assert (
        call(
            sb,
            http,
            "POST",
            "/customservice/kfaccount/inviteworker",
            token,
            {"kf_account": kf, "invite_wx": "worker_wx1"},
        )["errcode"]
        == 0
    )
    sb.accept_kf_invite(APPID, kf)
    assert call(sb, http, "POST", create, token, {"kf_account": kf, "openid": openid})["errcode"] == 65415
    sb.set_kf_online(APPID, kf)
    sb.add_wait_case(APPID, openid)
    assert call(sb, http, "GET", "/customservice/kfsession/getwaitcase", token)["count"] == 1
    assert call(sb, http, "POST", create, token, {"kf_account": kf, "openid": openid})["errcode"] == 0
    assert call(sb, http, "POST", create, token, {"kf_account": kf, "openid": "bad"})["errcode"] == 40003
    assert (
        call(sb, http, "GET", "/customservice/kfsession/getsession", token, openid=openid)["kf_account"] == kf
    )
    assert (
        call(sb, http, "GET", "/customservice/kfsession/getsessionlist", token, kf_account=kf)["sessionlist"][
            0
        ]["openid"]
        == openid
    )
    online = call(sb, http, "GET", "/cgi-bin/customservice/getonlinekflist", token)
    assert online["kf_online_list"][0]["accepted_case"] == 1
    close = "/customservice/kfsession/close"
    assert call(sb, http, "POST", close, token, {"kf_account": kf, "openid": openid})["errcode"] == 0
    assert call(sb, http, "POST", close, token, {"kf_account": kf, "openid": openid})["errcode"] == 65413


def test_kf_avatar_upload_needs_the_media_field(sb, http):
    token = get_token(sb, http)["access_token"]
    kf = f"kf1@{WXID}"
    call(sb, http, "POST", "/customservice/kfaccount/add", token, {"kf_account": kf, "nickname": "一号"})
    url = f"{sb.base_url}/customservice/kfaccount/uploadheadimg"
    jpeg = b"\xff\xd8\xff\xe0" + b"0" * 100
    r = http.post(
        url, params={"access_token": token, "kf_account": kf}, files={"file": ("a.jpg", jpeg, "image/jpeg")}
    )
    assert r.json()["errcode"] == 40005
    r = http.post(
        url, params={"access_token": token, "kf_account": kf}, files={"media": ("a.jpg", jpeg, "image/jpeg")}
    )
    assert r.json()["errcode"] == 0
    head = sb.state(APPID)["kf_accounts"][0]["kf_headimgurl"]
    assert http.get(head).content == jpeg


# --- customer-service messages -----------------------------------------------------------------------
def test_custom_send_respects_the_reply_window(sb, http):
    now = [1_700_000_000.0]
    sb.clock = lambda: now[0]
    token = get_token(sb, http)["access_token"]
    openid = "oUser000000000000000000000001"
    send = "/cgi-bin/message/custom/send"
    msg = {"touser": openid, "msgtype": "text", "text": {"content": "你好"}}
    assert call(sb, http, "POST", send, token, msg)["errcode"] == 45015
    sb.record_interaction(APPID, openid, kind="message")
    for _ in range(5):
        assert call(sb, http, "POST", send, token, msg)["errcode"] == 0
    assert call(sb, http, "POST", send, token, msg)["errcode"] == 45047
    sb.record_interaction(APPID, openid, kind="event")
    now[0] += 61
    assert call(sb, http, "POST", send, token, msg)["errcode"] == 45015
    assert sb.state(APPID)["sent_messages"][0]["text"]["content"] == "你好"


# --- faults and state ------------------------------------------------------------------------------------
def test_forced_errors_and_dropped_connections(sb, http):
    token = get_token(sb, http)["access_token"]
    sb.force_error("/cgi-bin/menu/get", -1, times=2)
    assert call(sb, http, "GET", "/cgi-bin/menu/get", token)["errcode"] == -1
    assert call(sb, http, "GET", "/cgi-bin/menu/get", token)["errcode"] == -1
    assert call(sb, http, "GET", "/cgi-bin/menu/get", token)["errcode"] == 46003
    sb.force_error("*", "drop")
    with pytest.raises(requests.ConnectionError):
        http.get(f"{sb.base_url}/cgi-bin/menu/get", params={"access_token": token})


def test_fail_rate_one_fails_every_call(sb, http):
    sb.fail_rate = 1.0
    assert get_token(sb, http)["errcode"] == -1


def test_faults_can_be_set_over_http(sb, http):
    http.post(f"{sb.base_url}/sandbox/faults", json={"api": "/cgi-bin/token", "errcode": 45011})
    assert get_token(sb, http)["errcode"] == 45011


def test_state_endpoint_shows_menu_tokens_calls_and_never_secrets(sb, http):
    token = get_token(sb, http)["access_token"]
    call(sb, http, "POST", "/cgi-bin/menu/create", token, {"button": [CLICK]})
    r = http.get(f"{sb.base_url}/sandbox/state/{APPID}")
    state = r.json()
    assert state["menu"]["button"][0]["name"] == "今日歌曲"
    assert state["tokens"]["issued"]["classic"] == 1
    assert state["calls"]["/cgi-bin/menu/create"] == 1
    assert SECRET not in r.text and token not in r.text
    assert http.get(f"{sb.base_url}/sandbox/state/wxffffffffffffffff").status_code == 404


def test_expire_endpoint_makes_tokens_expire(sb, http):
    token = get_token(sb, http)["access_token"]
    http.post(f"{sb.base_url}/sandbox/expire/{APPID}")
    assert call(sb, http, "GET", "/cgi-bin/menu/get", token)["errcode"] == 42001


def test_route_table_accepts_new_endpoints(sb, http):
    sb.add_route("POST", "/sandbox/echo/<appid>", lambda s, req, appid: {"appid": appid, **req.json()})
    r = http.post(f"{sb.base_url}/sandbox/echo/{APPID}", data='{"x": "中"}'.encode())
    assert r.json() == {"appid": APPID, "x": "中"}


def test_register_app_keeps_callback_details(sandbox):
    app = sandbox.register_app(
        APPID,
        SECRET,
        token="tok123",
        encoding_aes_key="a" * 43,
        message_mode="safe",
        callback_url="http://127.0.0.1:8000/wechat/x/",
        original_id="gh_0123456789ab",
    )
    assert (app.token, app.message_mode, app.original_id) == ("tok123", "safe", "gh_0123456789ab")
    assert sandbox.app(APPID).callback_url.endswith("/wechat/x/")


# --- conditional menus, quota clearing, typing -----------------------------------------------------
def test_conditional_menus_need_a_default_menu_and_a_rule(sb, http):
    token = get_token(sb, http)["access_token"]
    add = "/cgi-bin/menu/addconditional"
    cond = {"button": [CLICK], "matchrule": {"tag_id": "2"}}
    assert call(sb, http, "POST", add, token, cond)["errcode"] == 65303
    call(sb, http, "POST", "/cgi-bin/menu/create", token, {"button": [VIEW]})
    assert call(sb, http, "POST", add, token, {"button": [CLICK], "matchrule": {}})["errcode"] == 65304
    assert (
        call(sb, http, "POST", add, token, {"button": [CLICK], "matchrule": {"sex": "1"}})["errcode"] == 65320
    )
    menuid = call(sb, http, "POST", add, token, cond)["menuid"]
    got = call(sb, http, "GET", "/cgi-bin/menu/get", token)
    assert got["conditionalmenu"][0]["menuid"] == int(menuid) and "menuid" in got["menu"]
    assert (
        call(sb, http, "POST", "/cgi-bin/menu/trymatch", token, {"user_id": "oUser000000000000000000000001"})[
            "button"
        ][0]["name"]
        == "官网"
    )
    assert call(sb, http, "POST", "/cgi-bin/menu/delconditional", token, {"menuid": menuid})["errcode"] == 0
    assert (
        call(sb, http, "POST", "/cgi-bin/menu/delconditional", token, {"menuid": menuid})["errcode"] == 65301
    )
    assert "conditionalmenu" not in call(sb, http, "GET", "/cgi-bin/menu/get", token)


def test_clear_quota_resets_counts_ten_times_a_month(sb, http):
    sb.register_app(APPID, SECRET, wechat_id=WXID, quotas={"/cgi-bin/menu/get": 1})
    token = get_token(sb, http)["access_token"]
    call(sb, http, "GET", "/cgi-bin/menu/get", token)
    assert call(sb, http, "GET", "/cgi-bin/menu/get", token)["errcode"] == 45009
    for _ in range(10):
        assert call(sb, http, "POST", "/cgi-bin/clear_quota", token, {"appid": APPID})["errcode"] == 0
    assert call(sb, http, "GET", "/cgi-bin/menu/get", token)["errcode"] == 46003
    assert call(sb, http, "POST", "/cgi-bin/clear_quota", token, {"appid": APPID})["errcode"] == 48006


def test_typing_follows_the_reply_window(sb, http):
    token = get_token(sb, http)["access_token"]
    openid = "oUser000000000000000000000001"
    body = {"touser": openid, "command": "Typing"}
    assert call(sb, http, "POST", "/cgi-bin/message/custom/typing", token, body)["errcode"] == 45015
    sb.record_interaction(APPID, openid)
    assert call(sb, http, "POST", "/cgi-bin/message/custom/typing", token, body)["errcode"] == 0
