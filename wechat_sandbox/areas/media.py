"""Temporary media: cgi-bin/media/upload."""

from __future__ import annotations

from wechat_sandbox.core import AppState, Sandbox
from wechat_sandbox.endpoints import api_route
from wechat_sandbox.http import Answer, SandboxRequest

MEDIA_LIMITS = {
    "image": 10 * 1024 * 1024,
    "voice": 2 * 1024 * 1024,
    "thumb": 64 * 1024,
    "video": 10 * 1024 * 1024,
}
IMAGE_MAGIC = (b"\xff\xd8", b"\x89PNG", b"GIF8", b"BM")


@api_route("POST", "/cgi-bin/media/upload", quota=100_000)
def media_upload(sb: Sandbox, request: SandboxRequest, app: AppState) -> Answer:
    """Temporary media (kept 3 days by WeChat): multipart field ``media``, ``?type=image``
    (jpg/png/gif/bmp ≤ 10 MB) → ``{"type", "media_id", "created_at"}``; 40004 bad type,
    40005 not an image, 40009 empty or too large."""
    kind = request.query.get("type", "")
    if kind not in MEDIA_LIMITS:
        return sb.error(40004, "invalid media type", app=app)
    media = request.files().get("media")
    if media is None:
        return sb.error(40005, "invalid file type (the file field must be named media)", app=app)
    _filename, data = media
    if not data or len(data) > MEDIA_LIMITS[kind]:
        return sb.error(40009, "invalid media size", app=app)
    if kind in ("image", "thumb") and not data.startswith(IMAGE_MAGIC):
        return sb.error(40005, "invalid file type", app=app)
    now = int(sb.clock())
    with sb._lock:
        sb._serial += 1
        media_id = f"sandbox_media_{kind}_{sb._serial}"
        app.media[media_id] = {"type": kind, "size": len(data), "created_at": now}
    return {"type": kind, "media_id": media_id, "created_at": now}
