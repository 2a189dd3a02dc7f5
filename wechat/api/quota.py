"""API call quotas (接口调用次数).

Facts (official: 查询 API 调用额度 / getApiQuota, developers.weixin.qq.com …/apimanage/
api_getapiquota and the open platform's get_api_quota page):

- ``POST /cgi-bin/openapi/quota/get`` with ``{"cgi_path": "/cgi-bin/user/get"}`` answers
  ``{"quota": {"daily_limit", "used", "remain"}}`` for the account whose token is used. The
  path is without the host and starts with "/" (else 76003); an unknown path → 76021; a path
  of another kind of account (or ``/sns/…``) → 76022.
- ``POST /cgi-bin/clear_quota`` resets the account's daily counts, 10 times a month (48006).
"""

from __future__ import annotations

from wechat.client import JSONObject, WeChatClient


def clear(client: WeChatClient) -> None:
    """Reset this account's daily API counts (WeChat allows 10 a month: 48006 after)."""
    client.call("POST", "/cgi-bin/clear_quota", body={"appid": client.appid}, idempotent=False)


def get(client: WeChatClient, cgi_path: str) -> JSONObject:
    """Today's ``daily_limit``, ``used`` and ``remain`` of one API for this account."""
    answer = client.call("POST", "/cgi-bin/openapi/quota/get", body={"cgi_path": cgi_path})
    quota: JSONObject = answer.get("quota") or {}
    return {key: int(quota.get(key, 0)) for key in ("daily_limit", "used", "remain")}
