"""Channel QR codes (protocol §h "QR codes"; facts in ``wechat/api/qrcodes.py``):
``qrcode/create`` with the four ``action_name`` kinds, temporary codes ≤ 2,592,000 s (longer is
cut to it), permanent ``scene_id`` 1–100,000, ``scene_str`` 1–64 characters, and
``GET /cgi-bin/showqrcode?ticket=`` answering a PNG of the code's ``url`` (404 for an unknown
or expired ticket). Refusals of a bad scene or action use 40097 (invalid args) [?]: WeChat's
page lists no code for them.
"""

from __future__ import annotations

import io
import secrets

from wechat_sandbox.areas._audience import audience
from wechat_sandbox.core import AppState, Sandbox
from wechat_sandbox.endpoints import api_route
from wechat_sandbox.http import SandboxRequest, SandboxResponse, route

TEMP_MAX_SECONDS = 2_592_000
TEMP_DEFAULT_SECONDS = 60
PERMANENT_MAX_SCENE_ID = 100_000
SCENE_STR_MAX = 64
ACTIONS = {"QR_SCENE", "QR_STR_SCENE", "QR_LIMIT_SCENE", "QR_LIMIT_STR_SCENE"}


@api_route("POST", "/cgi-bin/qrcode/create")
def create(sb: Sandbox, request: SandboxRequest, app: AppState):
    body = request.json()
    action = body.get("action_name")
    if action not in ACTIONS:
        return sb.error(40097, "invalid action_name", app=app)
    info = body.get("action_info")
    scene = info.get("scene") if isinstance(info, dict) else None
    scene = scene if isinstance(scene, dict) else {}
    permanent = action.startswith("QR_LIMIT")
    if action.endswith("STR_SCENE"):
        value = scene.get("scene_str")
        if not isinstance(value, str) or not 1 <= len(value) <= SCENE_STR_MAX:
            return sb.error(40097, "invalid scene_str", app=app)
    else:
        value = scene.get("scene_id")
        top = PERMANENT_MAX_SCENE_ID if permanent else 2**32 - 1
        if not isinstance(value, int) or not 1 <= value <= top:
            return sb.error(40097, "invalid scene_id", app=app)
    now = sb.clock()
    ticket = "gQ" + secrets.token_urlsafe(40)
    code = {
        "url": f"http://weixin.qq.com/q/{secrets.token_urlsafe(16)}",
        "scene": value,
        "permanent": permanent,
    }
    answer = {"ticket": ticket, "url": code["url"]}
    if not permanent:
        seconds = body.get("expire_seconds", TEMP_DEFAULT_SECONDS)
        seconds = min(int(seconds), TEMP_MAX_SECONDS) if isinstance(seconds, int) and seconds > 0 else 60
        code["expires_at"] = now + seconds
        answer["expire_seconds"] = seconds
    with sb._lock:
        audience(app).qrcodes[ticket] = code
    return sb.json(answer)


@route("GET", "/cgi-bin/showqrcode")
def show(sb: Sandbox, request: SandboxRequest):
    """The code's image; like mp.weixin.qq.com it needs no token, only the ticket."""
    import segno  # a sandbox-only dependency of this endpoint

    ticket = request.query.get("ticket", "")
    for appid in sb.appids:
        app = sb.app(appid)
        code = audience(app).qrcodes.get(ticket) if app else None
        if code is not None and code.get("expires_at", float("inf")) > sb.clock():
            out = io.BytesIO()
            segno.make(code["url"], error="m").save(out, kind="png", scale=4)
            return SandboxResponse(body=out.getvalue(), content_type="image/jpg")
    return SandboxResponse(status=404, body=b"not found", content_type="text/plain")
