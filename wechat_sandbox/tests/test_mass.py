"""The mass-send client (wechat/api/mass.py) against the sandbox's mass area, as WeChat answers
(§h): msg_id and msg_data_id, the clientmsgid guard (45065), the 4-a-month limit (45028),
previews, status, delete of articles only, and the MASSSENDJOBFINISH push."""

import threading
from http.server import ThreadingHTTPServer

import pytest
import requests
from defusedxml import ElementTree

from wechat.api import mass
from wechat.errors import WeChatError
from wechat.tests.conftest import APPID
from wechat.tests.test_client import make_client
from wechat_sandbox.areas._audience import audience
from wechat_sandbox.areas.mass import MEDIA_LOOKUPS
from wechat_sandbox.tests.test_templates import _Callback

MEDIA = "draft-media-0001"


@pytest.fixture
def client(sb, redis_client):
    requests.post(f"{sb.base_url}/sandbox/mass/{APPID}/media", json={"media_ids": [MEDIA]}, timeout=5)
    requests.post(f"{sb.base_url}/sandbox/users/{APPID}/generate", json={"count": 10}, timeout=5)
    return make_client(sb, redis_client)


def _codes(call):
    with pytest.raises(WeChatError) as caught:
        call()
    return caught.value.errcode


def test_sendall_answers_msg_id_and_msg_data_id_for_articles(client, sb):
    answer = mass.send_to_all_or_tag(client, msgtype="mpnews", media_id=MEDIA, clientmsgid="c-1")
    assert answer["msg_id"] > 0 and answer["msg_data_id"] > 0
    text = mass.send_to_all_or_tag(client, msgtype="text", text="你好", clientmsgid="c-2")
    assert "msg_data_id" not in text
    sends = sb.state(APPID)["mass"]["sends"]
    assert [(s["msgtype"], s["is_to_all"], s["total"]) for s in sends] == [
        ("mpnews", True, 10),
        ("text", True, 10),
    ]
    assert mass.status(client, answer["msg_id"]) == mass.STATUS_SENDING


def test_a_repeated_clientmsgid_is_refused_and_nothing_is_sent_twice(client, sb):
    mass.send_to_all_or_tag(client, msgtype="text", text="一次", clientmsgid="same-id")
    assert _codes(
        lambda: mass.send_to_all_or_tag(client, msgtype="text", text="一次", clientmsgid="same-id")
    ) == (mass.CLIENTMSGID_EXISTS)
    assert len(sb.state(APPID)["mass"]["sends"]) == 1
    assert _codes(
        lambda: mass.send_to_all_or_tag(client, msgtype="text", text="x", clientmsgid="x" * 65)
    ) == (mass.CLIENTMSGID_TOO_LONG)


def test_the_fifth_send_to_all_in_a_month_is_refused(client, sb):
    for n in range(4):
        mass.send_to_all_or_tag(client, msgtype="text", text=f"第{n}条")
    assert _codes(lambda: mass.send_to_all_or_tag(client, msgtype="text", text="第5条")) == mass.NO_MASS_QUOTA
    assert len(sb.state(APPID)["mass"]["sends"]) == 4


def test_a_tag_send_filters_members_past_the_monthly_limit(client, sb):
    app = sb.app(APPID)
    with sb._lock:
        a = audience(app)
        a.tags[100] = "VIP"
        members = [a.openid_at(0), a.openid_at(1)]
        for openid in members:
            a.info.setdefault(openid, {})["tagid_list"] = [100]
    requests.post(f"{sb.base_url}/sandbox/mass/{APPID}/month", json={"all_sends": 3}, timeout=5)
    first = mass.send_to_all_or_tag(client, msgtype="text", text="标签", tag_id=100)
    assert sb.state(APPID)["mass"]["sends"][0]["filter"] == 2 and first["msg_id"]
    assert _codes(lambda: mass.send_to_all_or_tag(client, msgtype="text", text="再来", tag_id=100)) == 45028
    assert _codes(lambda: mass.send_to_all_or_tag(client, msgtype="text", text="x", tag_id=999)) == 45159


def test_bad_content_is_refused(client):
    assert _codes(lambda: mass.send_to_all_or_tag(client, msgtype="mpnews", media_id="unknown")) == 40007
    assert _codes(lambda: mass.send_to_all_or_tag(client, msgtype="text", text="  ")) == 44004
    assert _codes(lambda: mass.send_to_openids(client, ["oOnly000000001"], msgtype="text", text="x")) == (
        mass.TOO_FEW_OPENIDS
    )


def test_media_lookups_let_another_area_vouch_for_a_media_id(client):
    def drafts_area(app, msgtype, media_id):
        return msgtype == "mpnews" and media_id.startswith("from-drafts-")

    MEDIA_LOOKUPS.append(drafts_area)
    try:
        assert mass.send_to_all_or_tag(client, msgtype="mpnews", media_id="from-drafts-1")["msg_id"]
    finally:
        MEDIA_LOOKUPS.remove(drafts_area)


def test_preview_to_a_wechat_id_or_a_follower(client, sb):
    assert mass.preview(client, msgtype="mpnews", media_id=MEDIA, towxname="editor_wang")["msg_id"]
    follower = audience(sb.app(APPID)).openid_at(0)
    assert mass.preview(client, msgtype="text", text="预览", touser=follower)["msg_id"]
    assert _codes(lambda: mass.preview(client, msgtype="text", text="x", touser="oNobody0000000")) == 40003
    assert _codes(lambda: mass.preview(client, msgtype="text", text="x", towxname="1bad")) == 40132
    state = sb.state(APPID)["mass"]
    assert [p["towxname"] or p["touser"] for p in state["previews"]] == ["editor_wang", follower]
    assert state["sends"] == []  # a preview is not a send


def test_only_a_sent_article_can_be_deleted(client, sb):
    article = mass.send_to_all_or_tag(client, msgtype="mpnews", media_id=MEDIA)["msg_id"]
    text = mass.send_to_all_or_tag(client, msgtype="text", text="文字")["msg_id"]
    assert _codes(lambda: mass.delete(client, article)) == 40007  # still sending
    with sb._lock:
        for send in sb.app(APPID).areas["mass"]["sends"].values():
            send["status"] = "SEND_SUCCESS"
    assert _codes(lambda: mass.delete(client, text)) == 40008
    mass.delete(client, article, article_idx=1)
    assert mass.status(client, article) == mass.STATUS_DELETED


def test_speed(client):
    mass.set_speed(client, 2)
    assert mass.get_speed(client) == {"speed": 2, "realspeed": 45}


def test_finish_pushes_masssendjobfinish_with_the_totals(sandbox, redis_client):
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
        requests.post(f"{sandbox.base_url}/sandbox/users/{APPID}/generate", json={"count": 5}, timeout=5)
        client = make_client(sandbox, redis_client)
        msg_id = mass.send_to_all_or_tag(client, msgtype="text", text="hi")["msg_id"]
        answer = requests.post(
            f"{sandbox.base_url}/sandbox/mass/{APPID}/finish", json={"error_count": 1}, timeout=10
        ).json()
        assert answer == {"pushed": 1, "failed": 0}
        event = ElementTree.fromstring(_Callback.received[0])
        assert {k: event.findtext(k) for k in ("Event", "MsgID", "Status", "TotalCount", "SentCount")} == {
            "Event": "MASSSENDJOBFINISH",
            "MsgID": str(msg_id),
            "Status": "send success",
            "TotalCount": "5",
            "SentCount": "4",
        }
        assert mass.status(client, msg_id) == mass.STATUS_SUCCESS
    finally:
        server.shutdown()
