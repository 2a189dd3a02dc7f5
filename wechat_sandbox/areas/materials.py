"""Permanent materials (protocol §h; the client's facts in ``wechat/api/materials.py``).

Per account: the library (``media_id`` -> kind, name, bytes, url, update_time, and a video's
title and introduction) and the images uploaded for article bodies. WeChat's checks:
40004 an unknown ``type``, 40005 a file whose type the kind does not take (by its first
bytes and its extension), 40006 / 40009 an empty or too large file (40009 for images),
40007 an unknown media_id, 45103 ``material/add_news`` (withdrawn), and a video without a
title in its ``description`` → 40097.

Helper for tests and the bench: ``POST /sandbox/materials/<appid>/bulk``
``{"kind": "image", "count": 10000}`` adds that many small materials at once (``batchget``
pages through them like WeChat's).
"""

from __future__ import annotations

import json
from typing import Any

from wechat.api.materials import BODY_IMAGE_EXTENSIONS, BODY_IMAGE_LIMIT, LIMITS
from wechat_sandbox.core import AppState, Sandbox, state_section
from wechat_sandbox.endpoints import api_route
from wechat_sandbox.http import Answer, SandboxRequest, SandboxResponse, json_response, route

AREA = "materials"
MAGIC: dict[str, tuple[bytes, ...]] = {
    "jpg": (b"\xff\xd8",),
    "jpeg": (b"\xff\xd8",),
    "png": (b"\x89PNG",),
    "gif": (b"GIF8",),
    "bmp": (b"BM",),
    "mp3": (b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"),
    "wav": (b"RIFF",),
    "amr": (b"#!AMR",),
    "wma": (b"0&\xb2u",),
}
URL_BASE = "http://mmbiz.qpic.cn/sandbox/"


def _state(app: AppState) -> dict[str, Any]:
    return app.area_state(AREA, lambda: {"items": {}, "body_images": {}, "serial": 0})


def file_kind(filename: str, data: bytes) -> str | None:
    """The file's type by its extension, when its first bytes agree (mp4: ``ftyp`` at 4)."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension == "mp4":
        return "mp4" if data[4:8] == b"ftyp" else None
    magic = MAGIC.get(extension)
    if magic is None or not data.startswith(magic):
        return None
    return extension


def material_exists(app: AppState, media_id: str, kinds: tuple[str, ...] = ("image", "thumb")) -> bool:
    """Whether the account has this permanent material (the drafts area checks covers)."""
    item = _state(app)["items"].get(media_id)
    return item is not None and item["type"] in kinds


@state_section(AREA)
def _describe(app: AppState) -> dict[str, Any]:
    st = _state(app)
    return {
        "count": len(st["items"]),
        "items": [
            {k: v for k, v in item.items() if k != "data"} for item in list(st["items"].values())[-50:]
        ],
        "body_images": len(st["body_images"]),
    }


def _add(sb: Sandbox, app: AppState, kind: str, name: str, data: bytes, **extra: Any) -> dict[str, Any]:
    with sb._lock:
        st = _state(app)
        st["serial"] += 1
        media_id = f"sbm_{kind}_{app.appid[-6:]}_{st['serial']:07d}" + "m" * 12
        item = {
            "media_id": media_id,
            "type": kind,
            "name": name,
            "size": len(data),
            "data": data,
            "update_time": int(sb.clock()),
            **extra,
        }
        if kind == "image":
            item["url"] = f"{URL_BASE}{media_id}/0?wx_fmt=png"
        st["items"][media_id] = item
    return item


@api_route("POST", "/cgi-bin/material/add_material", quota=5_000)
def add_material(sb: Sandbox, request: SandboxRequest, app: AppState) -> Answer:
    kind = request.query.get("type", "")
    if kind not in LIMITS:
        return sb.error(40004, "invalid media type", app=app)
    parts = request.files()
    media = parts.get("media")
    if media is None or not media[0]:
        return sb.error(41005, "media data missing", app=app)
    filename, data = media
    limit, extensions = LIMITS[kind]
    if not data:
        return sb.error(40006, "invalid meida size", app=app)
    found = file_kind(filename, data)
    if found not in extensions:
        return sb.error(40005, "invalid file type", app=app)
    if len(data) > limit:
        return sb.error(40009 if kind in ("image", "thumb") else 40006, "invalid media size", app=app)
    extra: dict[str, Any] = {}
    if kind == "video":
        try:
            description = json.loads((parts.get("description") or ("", b""))[1].decode("utf-8") or "{}")
        except (UnicodeDecodeError, ValueError):
            description = None
        if not isinstance(description, dict) or not str(description.get("title") or "").strip():
            return sb.error(40097, "invalid args: description.title", app=app)
        extra = {
            "title": str(description["title"]),
            "introduction": str(description.get("introduction") or ""),
        }
    item = _add(sb, app, kind, filename, data, **extra)
    answer: dict[str, Any] = {"media_id": item["media_id"]}
    if "url" in item:
        answer["url"] = item["url"]
    return answer


@api_route("GET", "/cgi-bin/material/get_materialcount")
def get_materialcount(sb: Sandbox, request: SandboxRequest, app: AppState) -> Answer:
    with sb._lock:
        counts = {"image_count": 0, "voice_count": 0, "video_count": 0, "news_count": 0}
        for item in _state(app)["items"].values():
            # thumbs are counted with images, as WeChat's count has no thumb_count
            key = "image_count" if item["type"] == "thumb" else f"{item['type']}_count"
            counts[key] += 1
    return counts


@api_route("POST", "/cgi-bin/material/batchget_material")
def batchget_material(sb: Sandbox, request: SandboxRequest, app: AppState) -> Answer:
    body = request.json()
    kind = body.get("type")
    try:
        offset, count = int(body.get("offset", 0)), int(body.get("count", 0))
    except (TypeError, ValueError):
        return sb.error(40097, "invalid args", app=app)
    if kind not in LIMITS and kind != "news":
        return sb.error(40004, "invalid media type", app=app)
    if not 1 <= count <= 20 or offset < 0:
        return sb.error(40097, "invalid args", app=app)
    with sb._lock:
        # WeChat lists the newest first; thumbs are listed with images
        wanted = ("image", "thumb") if kind == "image" else (kind,)
        rows = [item for item in _state(app)["items"].values() if item["type"] in wanted]
        rows.reverse()
        page = rows[offset : offset + count]
        items = [
            {
                "media_id": item["media_id"],
                "name": item["name"],
                "update_time": item["update_time"],
                **({"url": item["url"]} if "url" in item else {}),
            }
            for item in page
        ]
    return {"total_count": len(rows), "item_count": len(items), "item": items}


@api_route("POST", "/cgi-bin/material/get_material")
def get_material(sb: Sandbox, request: SandboxRequest, app: AppState) -> Answer:
    media_id = request.json().get("media_id")
    with sb._lock:
        item = _state(app)["items"].get(media_id)
    if item is None:
        return sb.error(40007, "invalid media_id", app=app)
    if item["type"] == "video":
        return {
            "title": item.get("title", ""),
            "description": item.get("introduction", ""),
            "down_url": f"http://sandbox.video.qq.com/{media_id}.mp4",
        }
    return SandboxResponse(status=200, body=item["data"], content_type="application/octet-stream")


@api_route("POST", "/cgi-bin/material/del_material")
def del_material(sb: Sandbox, request: SandboxRequest, app: AppState) -> Answer:
    media_id = request.json().get("media_id")
    with sb._lock:
        if _state(app)["items"].pop(media_id, None) is None:
            return sb.error(40007, "invalid media_id", app=app)
    return sb.ok()


@api_route("POST", "/cgi-bin/material/add_news")
def add_news(sb: Sandbox, request: SandboxRequest, app: AppState) -> Answer:
    """Withdrawn by WeChat: articles go through draft/add."""
    return sb.error(45103, "This API has been unsupported", app=app)


@api_route("POST", "/cgi-bin/media/uploadimg", quota=5_000)
def uploadimg(sb: Sandbox, request: SandboxRequest, app: AppState) -> Answer:
    media = request.files().get("media")
    if media is None or not media[1]:
        return sb.error(41005, "media data missing", app=app)
    filename, data = media
    if file_kind(filename, data) not in BODY_IMAGE_EXTENSIONS:
        return sb.error(40005, "invalid file type", app=app)
    if len(data) > BODY_IMAGE_LIMIT:
        return sb.error(40009, "invalid image size", app=app)
    with sb._lock:
        st = _state(app)
        st["serial"] += 1
        url = f"{URL_BASE}body_{app.appid[-6:]}_{st['serial']:07d}/0?wx_fmt=png"
        st["body_images"][url] = len(data)
    return {"url": url}


@route("POST", "/sandbox/materials/<appid>/bulk")
def bulk(sb: Sandbox, request: SandboxRequest, appid: str) -> SandboxResponse:
    app = sb.app(appid)
    if app is None:
        return json_response({"errcode": 404, "errmsg": "unknown appid"}, status=404)
    body = request.json()
    kind = str(body.get("kind") or "image")
    count = max(0, min(200_000, int(body.get("count") or 0)))
    data = b"\xff\xd8sandbox"
    for index in range(count):
        _add(sb, app, kind, f"bulk_{index}.jpg", data, **({"title": f"v{index}"} if kind == "video" else {}))
    return json_response({"errcode": 0, "errmsg": "ok", "added": count})
