"""The sandbox's temporary media upload (images for customer-service messages) and
menu/trymatch by a simulated user's profile, through the client over loopback HTTP."""

import pytest
import requests

from wechat.api import custom_messages, media, menus
from wechat.errors import WeChatError
from wechat.tests.conftest import APPID
from wechat.tests.test_client import make_client

OPENID = "oUser000000000000000000000001"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_an_uploaded_image_can_be_sent_and_an_unknown_media_id_cannot(sb, redis_client):
    client = make_client(sb, redis_client)
    sb.record_interaction(APPID, OPENID)
    media_id = media.upload(client, "image", PNG, "photo.png", "image/png")
    custom_messages.send(client, {"touser": OPENID, "msgtype": "image", "image": {"media_id": media_id}})
    assert sb.state(APPID)["sent_messages"][-1]["image"] == {"media_id": media_id}
    with pytest.raises(WeChatError) as caught:
        custom_messages.send(client, {"touser": OPENID, "msgtype": "image", "image": {"media_id": "made-up"}})
    assert caught.value.errcode == 40007


@pytest.mark.parametrize(
    ("kind", "content", "errcode"),
    [
        ("document", PNG, 40004),
        ("image", b"%PDF-1.4 not an image", 40005),
        ("image", b"", 40009),
    ],
)
def test_media_upload_refuses_like_wechat(sb, redis_client, kind, content, errcode):
    client = make_client(sb, redis_client)
    with pytest.raises(WeChatError) as caught:
        media.upload(client, kind, content, "file.bin")
    assert caught.value.errcode == errcode
    assert sb.state(APPID)["media"] == {}


def test_trymatch_answers_the_newest_conditional_menu_fitting_the_user(sb, redis_client):
    client = make_client(sb, redis_client)
    menus.create(client, {"button": [{"type": "click", "name": "默认", "key": "D"}]})
    menus.add_conditional(
        client,
        {
            "button": [{"type": "click", "name": "安卓", "key": "A"}],
            "matchrule": {"client_platform_type": "2"},
        },
    )
    menus.add_conditional(
        client,
        {
            "button": [{"type": "click", "name": "会员", "key": "V"}],
            "matchrule": {"tag_id": "7", "client_platform_type": "2"},
        },
    )
    assert menus.try_match(client, OPENID)["button"][0]["key"] == "D"  # no profile
    sb.set_user(APPID, OPENID, client_platform_type="2")
    assert menus.try_match(client, OPENID)["button"][0]["key"] == "A"
    answer = requests.post(
        f"{sb.base_url}/sandbox/users/{APPID}",
        timeout=5,
        json={"openid": OPENID, "tag_ids": [7], "ignored": "x"},
    )
    assert answer.json()["errcode"] == 0
    assert menus.try_match(client, OPENID)["button"][0]["key"] == "V"  # newest first
    assert sb.state(APPID)["users"][OPENID] == {"client_platform_type": "2", "tag_ids": [7]}
    bad = requests.post(f"{sb.base_url}/sandbox/users/{APPID}", json={"openid": "x"}, timeout=5)
    assert bad.json()["errcode"] == 40003
