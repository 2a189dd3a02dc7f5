"""Customer-service messages (protocol §c): message/custom/send and typing, with the
reply windows (45015/45047)."""

from __future__ import annotations

from wechat_sandbox.core import AppState, Sandbox
from wechat_sandbox.endpoints import OPENID, api_route
from wechat_sandbox.http import Answer, SandboxRequest

#: Customer-service message windows (protocol §c): kind -> (seconds, messages)
REPLY_WINDOWS = {"message": (48 * 3600, 5), "event": (60, 3)}
MESSAGE_TYPES = {
    "text",
    "image",
    "voice",
    "video",
    "music",
    "news",
    "mpnews",
    "mpnewsarticle",
    "msgmenu",
    "wxcard",
    "miniprogrampage",
}


@api_route("POST", "/cgi-bin/message/custom/send", quota=500_000)
def message_custom_send(sb: Sandbox, request: SandboxRequest, app: AppState) -> Answer:
    """45015 outside the reply window (48 h after a message, 1 min after an event);
    45047 past the window's message count (5 / 3)."""
    body = request.json()
    openid = body.get("touser")
    if not isinstance(openid, str) or not OPENID.match(openid):
        return sb.error(40003, "invalid openid", app=app)
    msgtype = body.get("msgtype")
    if msgtype not in MESSAGE_TYPES or not isinstance(body.get(msgtype), dict):
        return sb.error(40008, "invalid message type", app=app)
    if msgtype == "text" and not str(body["text"].get("content") or "").strip():
        return sb.error(44004, "empty content", app=app)
    if msgtype == "image" and str(body["image"].get("media_id") or "") not in app.media:
        return sb.error(40007, "invalid media_id", app=app)
    kf_account = (body.get("customservice") or {}).get("kf_account")
    if kf_account and kf_account not in app.kf_accounts:
        return sb.error(65401, "invalid custom service account", app=app)
    now = sb.clock()
    with sb._lock:
        if sb.enforce_reply_window:
            seen = app.interactions.get(openid)
            seconds, limit = REPLY_WINDOWS[seen["kind"] if seen else "message"]
            if seen is None or now - seen["at"] > seconds:
                return sb.error(45015, "response out of time limit or subscription is canceled", app=app)
            if seen["used"] >= limit:
                return sb.error(45047, "out of response count limit", app=app)
            seen["used"] += 1
        app.sent_messages.append(
            {
                "touser": openid,
                "msgtype": msgtype,
                msgtype: body[msgtype],
                "kf_account": kf_account or "",
                "at": now,
            }
        )
    return sb.ok()


@api_route("POST", "/cgi-bin/message/custom/typing")
def message_custom_typing(sb: Sandbox, request: SandboxRequest, app: AppState) -> Answer:
    """ "Typing…" indicator: same OpenID and window rules as custom/send, no message count."""
    body = request.json()
    openid = body.get("touser")
    if not isinstance(openid, str) or not OPENID.match(openid):
        return sb.error(40003, "invalid openid", app=app)
    if body.get("command") not in ("Typing", "CancelTyping"):
        return sb.error(40097, "invalid args", app=app)
    if sb.enforce_reply_window:
        seen = app.interactions.get(openid)
        seconds, _limit = REPLY_WINDOWS[seen["kind"] if seen else "message"]
        if seen is None or sb.clock() - seen["at"] > seconds:
            return sb.error(45015, "response out of time limit or subscription is canceled", app=app)
    return sb.ok()
