"""The materials and drafts client areas (wechat/api/materials.py, drafts.py) against the
sandbox over loopback HTTP: WeChat's type and size limits, the library's pages and counts,
a draft's life (add, update, get, delete) and a publish job's status (§h)."""

import pytest
import requests

from wechat.api import drafts as wx_drafts
from wechat.api import materials as wx
from wechat.errors import WeChatError
from wechat.tests.conftest import APPID
from wechat.tests.test_client import make_client

JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 100
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 100
MP4 = b"\0\0\0\x18ftypmp42" + b"\0" * 100


@pytest.fixture
def client(sb, redis_client):
    return make_client(sb, redis_client)


def article(thumb, **extra):
    return {"title": "标题", "content": "<p>正文</p>", "thumb_media_id": thumb, **extra}


def test_materials_are_added_counted_listed_read_and_deleted(client):
    image = wx.add_material(client, "image", PNG, "a.png", "image/png")
    assert image["url"].startswith("http")
    thumb = wx.add_material(client, "thumb", JPEG, "t.jpg", "image/jpeg")["media_id"]
    video = wx.add_material(client, "video", MP4, "v.mp4", "video/mp4", title="片头", introduction="介绍")
    assert wx.get_count(client) == {"image_count": 2, "voice_count": 0, "video_count": 1, "news_count": 0}
    page = wx.batchget(client, "image", 0, 20)
    assert page["total_count"] == 2 and {i["media_id"] for i in wx.items(page)} == {image["media_id"], thumb}
    assert wx.get_material(client, thumb) == JPEG
    assert wx.get_material(client, video["media_id"])["title"] == "片头"
    wx.delete_material(client, thumb)
    with pytest.raises(WeChatError) as caught:
        wx.delete_material(client, thumb)
    assert caught.value.errcode == 40007


@pytest.mark.parametrize(
    ("kind", "data", "name", "errcode"),
    [
        ("thumb", PNG, "t.png", 40005),  # a thumb is a JPG only
        ("thumb", JPEG + b"\0" * 64 * 1024, "t.jpg", 40009),  # over 64 KB
        ("voice", b"ID3" + b"\0" * (2 * 1024 * 1024), "v.mp3", 40006),  # over 2 MB
        ("video", MP4, "v.mp4", 40097),  # no title in the description
        ("image", b"MZ\x90\0", "a.jpg", 40005),  # not an image at all
        ("document", JPEG, "a.jpg", 40004),
    ],
)
def test_wechat_refuses_a_wrong_type_or_an_oversize_file(client, sb, kind, data, name, errcode):
    with pytest.raises(WeChatError) as caught:
        wx.add_material(client, kind, data, name, title="")
    assert caught.value.errcode == errcode
    assert sb.state(APPID)["materials"]["count"] == 0


def test_a_body_image_gets_a_url_and_add_news_is_withdrawn(client):
    assert wx.upload_body_image(client, JPEG, "x.jpg").startswith("http://mmbiz.qpic.cn/")
    with pytest.raises(WeChatError) as caught:
        client.call("POST", "/cgi-bin/material/add_news", body={"articles": []})
    assert caught.value.errcode == 45103


def test_a_draft_is_added_updated_read_listed_and_deleted(client):
    thumb = wx.add_material(client, "thumb", JPEG, "t.jpg")["media_id"]
    media_id = wx_drafts.add(client, [article(thumb), article(thumb, title="第二篇")])
    wx_drafts.update(
        client, media_id, 1, article(thumb, title="改过", content="<p>x</p><script>alert(1)</script>")
    )
    items = wx_drafts.get(client, media_id)
    assert [a["title"] for a in items] == ["标题", "改过"] and "script" not in items[1]["content"]
    assert wx_drafts.count(client) == 1
    assert wx_drafts.batchget(client)["item"][0]["media_id"] == media_id
    wx_drafts.delete(client, media_id)
    with pytest.raises(WeChatError) as caught:
        wx_drafts.get(client, media_id)
    assert caught.value.errcode == 40007


def test_a_draft_without_a_known_cover_is_refused(client):
    with pytest.raises(WeChatError) as caught:
        wx_drafts.add(client, [article("no-such-thumb")])
    assert caught.value.errcode == 40007


def test_a_publish_job_is_publishing_then_refused_or_published_with_its_urls(client, sb):
    thumb = wx.add_material(client, "thumb", JPEG, "t.jpg")["media_id"]
    requests.post(
        f"{sb.base_url}/sandbox/drafts/{APPID}/outcome", json={"status": 4, "fail_idx": [1], "delay": 3600}
    )
    refused = wx_drafts.submit(client, wx_drafts.add(client, [article(thumb)]))
    assert wx_drafts.publish_status(client, refused)["publish_status"] == 1
    requests.post(f"{sb.base_url}/sandbox/drafts/{APPID}/outcome", json={"status": 0})
    media_id = wx_drafts.add(client, [article(thumb), article(thumb)])
    done = wx_drafts.publish_status(client, wx_drafts.submit(client, media_id))
    assert done["publish_status"] == 0
    assert wx_drafts.article_urls(done) == [
        f"http://mp.weixin.qq.com/s/{done['publish_id']}_{i}" for i in (1, 2)
    ]
    assert wx_drafts.count(client) == 1  # the published draft left the box, the refused one did not


def test_a_mass_send_takes_a_draft_or_a_material_the_sandbox_holds(client):
    """The drafts area tells the mass area which media it holds (MEDIA_LOOKUPS): an article mass
    send of a draft pushed with draft/add, an image one of a permanent image; others → 40007."""
    from wechat.api import mass

    thumb = wx.add_material(client, "thumb", JPEG, "t.jpg", "image/jpeg")["media_id"]
    image = wx.add_material(client, "image", PNG, "a.png", "image/png")["media_id"]
    draft = wx_drafts.add(client, [article(thumb)])
    assert mass.send_to_all_or_tag(client, msgtype="mpnews", media_id=draft)["msg_id"]
    assert mass.send_to_all_or_tag(client, msgtype="image", media_id=image)["msg_id"]
    with pytest.raises(WeChatError) as caught:
        mass.send_to_all_or_tag(client, msgtype="mpnews", media_id=image)  # not a draft
    assert caught.value.errcode == 40007
