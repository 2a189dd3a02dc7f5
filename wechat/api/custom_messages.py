"""Customer-service messages (客服消息, ``/cgi-bin/message/custom/``): replies to a user
inside WeChat's reply window. Mass sends and template messages are other areas."""

from __future__ import annotations

from wechat.client import JSONObject, WeChatClient


def send(client: WeChatClient, payload: JSONObject) -> None:
    """Send a customer-service message; never re-sent once it may have reached WeChat."""
    client.call("POST", "/cgi-bin/message/custom/send", body=payload, idempotent=False)


def send_text(client: WeChatClient, openid: str, content: str, *, kf_account: str | None = None) -> None:
    payload: JSONObject = {"touser": openid, "msgtype": "text", "text": {"content": content}}
    if kf_account:
        payload["customservice"] = {"kf_account": kf_account}
    send(client, payload)


def typing(client: WeChatClient, openid: str, typing: bool = True) -> None:
    """Show (or hide) "typing…" in the user's chat."""
    client.call(
        "POST",
        "/cgi-bin/message/custom/typing",
        body={"touser": openid, "command": "Typing" if typing else "CancelTyping"},
    )
