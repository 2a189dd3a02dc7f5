"""Follower tags (用户标签管理).

Facts (docs/wechat-protocol.md §h "Tags", checked against the official 用户标签管理 page,
developers.weixin.qq.com/doc/service/api/usermanage/tag/api_createtag and its siblings):

- ``tags/create`` ``{"tag": {"name"}}`` → ``{"tag": {"id", "name"}}``; at most **100** tags per
  account (45056); the name at most **30 UTF-8 bytes** (45158) and unique (45157).
- ``tags/get`` → ``{"tags": [{"id", "name", "count"}]}``, ``count`` being WeChat's follower count.
- ``tags/update`` ``{"tag": {"id", "name"}}``: same name rules; tags 0, 1 and 2 are WeChat's
  reserved tags and cannot be changed (45058).
- ``tags/delete`` ``{"tag": {"id"}}``: reserved tags → 45058; a tag with more than **100,000**
  followers cannot be deleted directly (45057): untag them in batches first.
- ``tags/members/batchtagging`` / ``batchuntagging`` ``{"openid_list", "tagid"}``: at most
  **50** OpenIDs (40032); a follower holds at most **20** tags (45059); an unknown tag → 45159.
- ``tags/getidlist`` ``{"openid"}`` → ``{"tagid_list": [...]}``.
- ``user/tag/get`` ``{"tagid", "next_openid"}``: a tag's followers, 10,000 a page.
"""

from __future__ import annotations

from wechat.client import JSONObject, WeChatClient

MAX_TAGS = 100
NAME_MAX_BYTES = 30
RESERVED_IDS = frozenset({0, 1, 2})
DELETE_MAX_FOLLOWERS = 100_000
TAGGING_BATCH_MAX = 50
MAX_TAGS_PER_USER = 20


def create(client: WeChatClient, name: str) -> JSONObject:
    """Create a tag; answers ``{"id", "name"}``."""
    answer = client.call("POST", "/cgi-bin/tags/create", body={"tag": {"name": name}}, idempotent=False)
    tag: JSONObject = answer["tag"]
    return tag


def list_all(client: WeChatClient) -> list[JSONObject]:
    tags: list[JSONObject] = client.call("GET", "/cgi-bin/tags/get").get("tags", [])
    return tags


def update(client: WeChatClient, tag_id: int, name: str) -> None:
    client.call("POST", "/cgi-bin/tags/update", body={"tag": {"id": tag_id, "name": name}})


def delete(client: WeChatClient, tag_id: int) -> None:
    client.call("POST", "/cgi-bin/tags/delete", body={"tag": {"id": tag_id}})


def tag_users(client: WeChatClient, tag_id: int, openids: list[str]) -> None:
    client.call("POST", "/cgi-bin/tags/members/batchtagging", body={"openid_list": openids, "tagid": tag_id})


def untag_users(client: WeChatClient, tag_id: int, openids: list[str]) -> None:
    client.call(
        "POST", "/cgi-bin/tags/members/batchuntagging", body={"openid_list": openids, "tagid": tag_id}
    )


def user_tags(client: WeChatClient, openid: str) -> list[int]:
    ids: list[int] = client.call("POST", "/cgi-bin/tags/getidlist", body={"openid": openid}).get(
        "tagid_list", []
    )
    return ids


def members_page(client: WeChatClient, tag_id: int, next_openid: str = "") -> JSONObject:
    """One page of a tag's followers: ``count``, ``openids``, ``next_openid``."""
    answer = client.call("POST", "/cgi-bin/user/tag/get", body={"tagid": tag_id, "next_openid": next_openid})
    data = answer.get("data") or {}
    openids: list[str] = [o for o in data.get("openid", []) if o]
    return {
        "count": int(answer.get("count", len(openids))),
        "openids": openids,
        "next_openid": answer.get("next_openid") or "",
    }
