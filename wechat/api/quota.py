"""API call quotas (接口调用次数)."""

from __future__ import annotations

from wechat.client import WeChatClient


def clear(client: WeChatClient) -> None:
    """Reset this account's daily API counts (WeChat allows 10 a month: 48006 after)."""
    client.call("POST", "/cgi-bin/clear_quota", body={"appid": client.appid}, idempotent=False)
