"""Followers (用户管理): the follower list, user details, remarks and the blacklist.

Facts (docs/wechat-protocol.md §h "Followers" and "Blacklist", checked against the official
pages developers.weixin.qq.com/doc/service/api/usermanage/userinfo/… and the 用户管理 pages of
the MP wiki):

- ``GET /cgi-bin/user/get?next_openid=`` answers at most **10,000** OpenIDs a call:
  ``{"total", "count", "data": {"openid": [...]}, "next_openid"}``. The next call passes the
  previous ``next_openid``; the list is over when ``next_openid`` is empty (or ``count`` is 0).
  An account with no follower answers no ``data`` at all.
- ``POST /cgi-bin/user/info/batchget`` takes ``user_list`` of at most **100**
  ``{"openid", "lang"}``; more → 40032. ``user/info`` with an unknown OpenID → 40003.
  Since 2021-12-27 WeChat no longer returns nickname, avatar, sex or region.
- ``POST /cgi-bin/user/info/updateremark``: remark at most **30** bytes, longer → 40092 [?].
- ``POST /cgi-bin/tags/members/getblacklist`` (``begin_openid``, 10,000 a page, same shape as
  ``user/get``); ``batchblacklist`` / ``batchunblacklist`` take at most **20** OpenIDs
  (``openid_list``); more → 40032.
"""

from __future__ import annotations

from wechat.client import JSONObject, WeChatClient

USER_GET_PAGE = 10_000
BATCHGET_MAX = 100
BLACKLIST_BATCH_MAX = 20
REMARK_MAX_BYTES = 30


def list_page(client: WeChatClient, next_openid: str = "") -> JSONObject:
    """One page of the follower list: ``total``, ``count``, ``openids`` and ``next_openid``."""
    params = {"next_openid": next_openid} if next_openid else None
    answer = client.call("GET", "/cgi-bin/user/get", params=params)
    return _page(answer)


def get(client: WeChatClient, openid: str, lang: str = "zh_CN") -> JSONObject:
    return client.call("GET", "/cgi-bin/user/info", params={"openid": openid, "lang": lang})


def batch_get(client: WeChatClient, openids: list[str], lang: str = "zh_CN") -> list[JSONObject]:
    """Details of at most BATCHGET_MAX followers (``user_info_list``)."""
    if len(openids) > BATCHGET_MAX:
        raise ValueError(f"batchget takes at most {BATCHGET_MAX} OpenIDs")
    answer = client.call(
        "POST",
        "/cgi-bin/user/info/batchget",
        body={"user_list": [{"openid": openid, "lang": lang} for openid in openids]},
    )
    users: list[JSONObject] = answer.get("user_info_list", [])
    return users


def update_remark(client: WeChatClient, openid: str, remark: str) -> None:
    client.call("POST", "/cgi-bin/user/info/updateremark", body={"openid": openid, "remark": remark})


def blacklist_page(client: WeChatClient, begin_openid: str = "") -> JSONObject:
    """One page of the blacklist, shaped like ``list_page``."""
    answer = client.call("POST", "/cgi-bin/tags/members/getblacklist", body={"begin_openid": begin_openid})
    return _page(answer)


def blacklist(client: WeChatClient, openids: list[str]) -> None:
    client.call("POST", "/cgi-bin/tags/members/batchblacklist", body={"openid_list": openids})


def unblacklist(client: WeChatClient, openids: list[str]) -> None:
    client.call("POST", "/cgi-bin/tags/members/batchunblacklist", body={"openid_list": openids})


def _page(answer: JSONObject) -> JSONObject:
    data = answer.get("data") or {}
    openids: list[str] = [o for o in data.get("openid", []) if o]
    return {
        "total": int(answer.get("total", 0)),
        "count": int(answer.get("count", len(openids))),
        "openids": openids,
        "next_openid": answer.get("next_openid") or "",
    }
