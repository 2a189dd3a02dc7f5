"""The users, tags and qrcodes areas: the client against the sandbox over loopback HTTP, with
WeChat's limits and error codes (protocol §h)."""

import pytest
import requests

from wechat.api import qrcodes, tags, users
from wechat.errors import WeChatError
from wechat.tests.conftest import APPID
from wechat.tests.test_client import make_client


def generate(sb, count):
    requests.post(f"{sb.base_url}/sandbox/users/{APPID}/generate", json={"count": count}, timeout=5)


def errcode(call, *args, **kwargs):
    with pytest.raises(WeChatError) as caught:
        call(*args, **kwargs)
    return caught.value.errcode


def test_user_get_pages_every_follower_once_at_ten_thousand_a_call(sb, redis_client):
    client = make_client(sb, redis_client)
    generate(sb, 25_003)
    requests.post(
        f"{sb.base_url}/sandbox/users/{APPID}/unsubscribe",
        json={"openid": users.list_page(client)["openids"][5]},
        timeout=5,
    )
    seen, cursor, calls = [], "", 0
    while True:
        page = users.list_page(client, cursor)
        calls += 1
        if not page["openids"]:
            break
        assert page["count"] <= 10_000 and page["total"] == 25_002
        seen.extend(page["openids"])
        cursor = page["next_openid"]
    assert len(seen) == len(set(seen)) == 25_002
    assert calls == 4


def test_batchget_takes_100_and_answers_no_nickname(sb, redis_client):
    client = make_client(sb, redis_client)
    generate(sb, 300)
    openids = users.list_page(client)["openids"]
    infos = users.batch_get(client, openids[:100])
    assert [i["openid"] for i in infos] == openids[:100]
    assert "nickname" not in infos[0] and infos[0]["subscribe"] == 1
    with pytest.raises(ValueError, match="at most 100"):
        users.batch_get(client, openids[:101])
    assert errcode(users.get, client, "oUnknown0000000000000000000") == 40003


def test_remark_and_blacklist_limits(sb, redis_client):
    client = make_client(sb, redis_client)
    generate(sb, 50)
    openids = users.list_page(client)["openids"]
    users.update_remark(client, openids[0], "老客户")
    assert users.get(client, openids[0])["remark"] == "老客户"
    assert errcode(users.update_remark, client, openids[0], "长" * 11) == 40092  # 33 bytes
    assert errcode(users.blacklist, client, openids[:21]) == 40032
    users.blacklist(client, openids[:20])
    assert users.blacklist_page(client)["openids"] == openids[:20]
    users.unblacklist(client, openids[:5])
    assert users.blacklist_page(client)["total"] == 15


def test_tag_rules_like_wechat(sb, redis_client):
    client = make_client(sb, redis_client)
    generate(sb, 60)
    openids = users.list_page(client)["openids"]
    vip = tags.create(client, "VIP")
    assert errcode(tags.create, client, "VIP") == 45157
    assert errcode(tags.create, client, "标" * 11) == 45158  # 33 bytes
    tags.create(client, "标" * 10)  # 30 bytes
    assert errcode(tags.update, client, 2, "x") == 45058
    assert errcode(tags.delete, client, 1) == 45058
    assert errcode(tags.tag_users, client, vip["id"], openids[:51]) == 40032
    tags.tag_users(client, vip["id"], openids[:50])
    assert {t["id"]: t["count"] for t in tags.list_all(client)}[vip["id"]] == 50
    assert tags.user_tags(client, openids[0]) == [vip["id"]]
    assert tags.members_page(client, vip["id"])["openids"] == openids[:50]
    tags.untag_users(client, vip["id"], openids[:10])
    assert {t["id"]: t["count"] for t in tags.list_all(client)}[vip["id"]] == 40
    tags.update(client, vip["id"], "SVIP")
    tags.delete(client, vip["id"])
    assert errcode(tags.tag_users, client, vip["id"], openids[:1]) == 45159


def test_a_user_holds_at_most_20_tags_and_an_account_100(sb, redis_client):
    client = make_client(sb, redis_client)
    generate(sb, 2)
    openid = users.list_page(client)["openids"][0]
    ids = [tags.create(client, f"t{i}")["id"] for i in range(100)]
    assert errcode(tags.create, client, "one too many") == 45056
    for tag_id in ids[:20]:
        tags.tag_users(client, tag_id, [openid])
    assert errcode(tags.tag_users, client, ids[20], [openid]) == 45059


def test_qrcodes_kinds_limits_and_image(sb, redis_client):
    client = make_client(sb, redis_client)
    temp = qrcodes.create(client, permanent=False, scene_str="poster-A", expire_seconds=9_999_999)
    assert temp["expire_seconds"] == 2_592_000 and temp["url"]
    perm = qrcodes.create(client, permanent=True, scene_id=100_000)
    assert "expire_seconds" not in perm
    assert errcode(qrcodes.create, client, permanent=True, scene_id=100_001) == 40097
    assert errcode(qrcodes.create, client, permanent=True, scene_str="x" * 65) == 40097
    image = requests.get(qrcodes.image_url(perm["ticket"], sb.base_url), timeout=5)
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    assert requests.get(qrcodes.image_url("nope", sb.base_url), timeout=5).status_code == 404
