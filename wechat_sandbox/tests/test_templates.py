"""The sandbox's template-message area (wechat_sandbox/areas/templates.py) over plain HTTP,
as WeChat answers (§h): library, 25-template cap, deletes refused, send errors, tags, and the
TEMPLATESENDJOBFINISH push to the account's callback."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from defusedxml import ElementTree

from wechat.tests.conftest import APPID
from wechat_sandbox.areas.templates import MAX_TEMPLATES
from wechat_sandbox.tests.test_sandbox import call, get_token

OPENID = "oUser000000000000000000000001"
GOOD = {"character_string1": "SN-1", "thing2": "杯子", "time3": "15:01"}


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


@pytest.fixture
def token(sb, http):
    return get_token(sb, http)["access_token"]


def add(sb, http, token, short="OPENTM200000001", **extra):
    return call(
        sb, http, "POST", "/cgi-bin/template/api_add_template", token, {"template_id_short": short, **extra}
    )


def send(sb, http, token, tpl, **body):
    payload = {
        "touser": OPENID,
        "template_id": tpl,
        "data": {k: {"value": v} for k, v in GOOD.items()},
    }
    payload.update(body)
    return call(sb, http, "POST", "/cgi-bin/message/template/send", token, payload)


def test_added_templates_are_listed_and_the_25th_is_the_last(sb, http, token):
    ids = [add(sb, http, token)["template_id"] for _ in range(MAX_TEMPLATES)]
    listed = call(sb, http, "GET", "/cgi-bin/template/get_all_private_template", token)["template_list"]
    assert [t["template_id"] for t in listed] == ids
    assert {"title", "content", "primary_industry", "deputy_industry", "example"} <= set(listed[0])
    assert add(sb, http, token)["errcode"] == 45026


def test_the_library_refuses_unknown_numbers_and_keyword_names(sb, http, token):
    assert add(sb, http, token, "NOPE")["errcode"] == 40037
    assert add(sb, http, token, "CATEGORY_0001")["errcode"] == 40246  # keyword_name_list needed
    assert add(sb, http, token, "CATEGORY_0001", keyword_name_list=["乱写"])["errcode"] == 40246
    assert add(sb, http, token, "CATEGORY_0001", keyword_name_list=["办理事项"])["errcode"] == 0


def test_deleting_an_unknown_template_is_refused_and_deletes_nothing(sb, http, token):
    kept = add(sb, http, token)["template_id"]
    answer = call(
        sb, http, "POST", "/cgi-bin/template/del_private_template", token, {"template_id": "tpl_nope"}
    )
    assert answer["errcode"] == 40037
    assert [t["template_id"] for t in sb.state(APPID)["templates"]["templates"]] == [kept]
    answer = call(sb, http, "POST", "/cgi-bin/template/del_private_template", token, {"template_id": kept})
    assert answer["errcode"] == 0 and sb.state(APPID)["templates"]["templates"] == []


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({"touser": "not an openid"}, 40003),
        ({"template_id": "tpl_nope"}, 40037),
        ({"data": {"thing2": {"value": "杯子"}}}, 47003),
        ({"data": "text"}, 47001),
        ({"url": "ftp://example.cn"}, 40039),
        ({"miniprogram": {"pagepath": "pages/index"}}, 40166),
    ],
)
def test_send_errors_match_wechat_and_nothing_is_sent(sb, http, token, body, errcode):
    template_id = add(sb, http, token)["template_id"]
    assert send(sb, http, token, template_id, **body)["errcode"] == errcode
    assert sb.state(APPID)["templates"]["sent_count"] == 0


def test_an_unsubscribed_user_gets_43004(sb, http, token):
    template_id = add(sb, http, token)["template_id"]
    requests.post(f"{sb.base_url}/sandbox/templates/{APPID}/users", json={"unsubscribed": [OPENID]})
    assert send(sb, http, token, template_id)["errcode"] == 43004


def test_a_tag_is_read_in_pages_of_10000(sb, http, token):
    openids = [f"oUser{n:024d}" for n in range(10_001)]
    requests.post(f"{sb.base_url}/sandbox/templates/{APPID}/tag", json={"tag_id": 5, "openids": openids})
    first = call(sb, http, "POST", "/cgi-bin/user/tag/get", token, {"tagid": 5, "next_openid": ""})
    assert first["count"] == 10_000 and first["next_openid"] == openids[9_999]
    second = call(
        sb, http, "POST", "/cgi-bin/user/tag/get", token, {"tagid": 5, "next_openid": first["next_openid"]}
    )
    assert second["data"]["openid"] == openids[10_000:]
    third = call(
        sb, http, "POST", "/cgi-bin/user/tag/get", token, {"tagid": 5, "next_openid": second["next_openid"]}
    )
    assert third["count"] == 0  # the end of the tag's list


class _Callback(BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self):
        self.received.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"success")

    def log_message(self, *args):
        pass


def test_finish_pushes_templatesendjobfinish_to_the_callback_once(sandbox, http):
    _Callback.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Callback)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        sandbox.register_app(
            APPID,
            "0123456789abcdef0123456789abcdef",
            token="callbacktoken",
            callback_url=f"http://127.0.0.1:{server.server_port}/wechat/",
            original_id="gh_0123456789ab",
        )
        token = get_token(sandbox, http)["access_token"]
        template_id = add(sandbox, http, token)["template_id"]
        blocked = "oUser000000000000000000000002"
        requests.post(f"{sandbox.base_url}/sandbox/templates/{APPID}/users", json={"blocked": [blocked]})
        msgids = [
            send(sandbox, http, token, template_id)["msgid"],
            send(sandbox, http, token, template_id, touser=blocked)["msgid"],
        ]
        answer = requests.post(f"{sandbox.base_url}/sandbox/templates/{APPID}/finish", json={}).json()
        assert answer == {"pushed": 2, "failed": 0}
        events = [ElementTree.fromstring(body) for body in _Callback.received]
        assert [(e.findtext("Event"), int(e.findtext("MsgID")), e.findtext("Status")) for e in events] == [
            ("TEMPLATESENDJOBFINISH", msgids[0], "success"),
            ("TEMPLATESENDJOBFINISH", msgids[1], "failed:user block"),
        ]
        again = requests.post(f"{sandbox.base_url}/sandbox/templates/{APPID}/finish", json={}).json()
        assert again == {"pushed": 0, "failed": 0}
    finally:
        server.shutdown()
