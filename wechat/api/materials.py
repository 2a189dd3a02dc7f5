"""Permanent materials (永久素材) and the images inside article bodies.

Protocol facts (docs/wechat-protocol.md §h "Permanent materials"; checked on WeChat's pages
developers.weixin.qq.com/doc/service/api/material/permanent/api_addmaterial and
doc/service/en/Asset_Management/Adding_Permanent_Assets.html):

- ``POST /cgi-bin/material/add_material?type=image|voice|video|thumb``, multipart field
  ``media``; a video also sends the form field ``description`` = JSON ``{"title",
  "introduction"}``. Answers ``media_id`` (and ``url`` for an image). Limits, the same as the
  MP console's: image ≤ 10 MB bmp/png/jpeg/jpg/gif; voice ≤ 2 MB (≤ 60 s) mp3/wma/wav/amr;
  video ≤ 10 MB mp4; thumb ≤ 64 KB jpg. At most 100,000 images and 1,000 of each other
  type per account. Not idempotent: a retry could add the material twice.
- ``GET /cgi-bin/material/get_materialcount`` answers ``voice_count``, ``video_count``,
  ``image_count``, ``news_count``.
- ``POST /cgi-bin/material/batchget_material`` ``{type, offset, count}`` (count 1–20)
  answers ``total_count``, ``item_count`` and ``item`` (``media_id``, ``name``,
  ``update_time``, ``url`` for images).
- ``POST /cgi-bin/material/get_material`` ``{media_id}``: a video answers JSON
  (``title``, ``description``, ``down_url``); other kinds answer the file's bytes.
- ``POST /cgi-bin/material/del_material`` ``{media_id}``; an unknown id → 40007.
- ``POST /cgi-bin/media/uploadimg`` (multipart ``media``): an image for an article body,
  jpg/png under 1 MB, not counted in the library; answers ``url``. Not idempotent.
- ``material/add_news`` was withdrawn: it answers 45103 (articles go through drafts).
"""

from __future__ import annotations

import json
from typing import Any, cast

import requests

from wechat.client import JSONObject, WeChatClient
from wechat.errors import ERR_BAD_RESPONSE, ERR_NETWORK, WeChatError
from wechat.transport import JSON_CONTENT_TYPE, encode_json

KINDS = ("image", "voice", "video", "thumb")
#: kind -> (largest size in bytes, allowed file extensions), as WeChat states them.
LIMITS: dict[str, tuple[int, tuple[str, ...]]] = {
    "image": (10 * 1024 * 1024, ("bmp", "png", "jpeg", "jpg", "gif")),
    "voice": (2 * 1024 * 1024, ("mp3", "wma", "wav", "amr")),
    "video": (10 * 1024 * 1024, ("mp4",)),
    "thumb": (64 * 1024, ("jpg", "jpeg")),
}
#: media/uploadimg: jpg/png under 1 MB.
BODY_IMAGE_LIMIT = 1024 * 1024
BODY_IMAGE_EXTENSIONS = ("jpg", "jpeg", "png")
BATCH_MAX = 20


def add_material(
    client: WeChatClient,
    kind: str,
    content: bytes,
    filename: str,
    content_type: str = "application/octet-stream",
    *,
    title: str = "",
    introduction: str = "",
) -> JSONObject:
    """Add a permanent material; WeChat's answer (``media_id``, and ``url`` for an image).
    A video carries ``description`` {title, introduction}. Never re-sent once it may have
    reached WeChat."""
    files: dict[str, Any] = {"media": (filename, content, content_type)}
    if kind == "video":
        description = json.dumps({"title": title, "introduction": introduction}, ensure_ascii=False)
        files["description"] = (None, description.encode("utf-8"), "application/json")
    return client.call(
        "POST", "/cgi-bin/material/add_material", params={"type": kind}, files=files, idempotent=False
    )


def get_count(client: WeChatClient) -> dict[str, int]:
    """The account's material counts: ``image_count``, ``voice_count``, ``video_count``, ``news_count``."""
    answer = client.call("GET", "/cgi-bin/material/get_materialcount")
    return {
        key: int(answer.get(key) or 0) for key in ("image_count", "voice_count", "video_count", "news_count")
    }


def batchget(client: WeChatClient, kind: str, offset: int = 0, count: int = BATCH_MAX) -> JSONObject:
    """One page of the account's materials of one kind (``total_count``, ``item_count``, ``item``)."""
    return client.call(
        "POST",
        "/cgi-bin/material/batchget_material",
        body={"type": kind, "offset": int(offset), "count": max(1, min(BATCH_MAX, int(count)))},
    )


def get_material(client: WeChatClient, media_id: str) -> JSONObject | bytes:
    """One material: JSON for a video (``title``, ``description``, ``down_url``) or a news
    item, the file's bytes for the other kinds (WeChat answers them as a download). One
    request, read-only; an error answer raises WeChatError like every call."""
    api = "/cgi-bin/material/get_material"
    try:
        response = client.session.post(
            client.base_url + api,
            params={"access_token": client._token()},
            data=encode_json({"media_id": media_id}),
            headers={"Content-Type": JSON_CONTENT_TYPE},
            timeout=client.timeout,
        )
    except requests.RequestException as exc:
        raise WeChatError(ERR_NETWORK, type(exc).__name__, api=api) from None
    if response.status_code != 200:
        raise WeChatError(ERR_BAD_RESPONSE, f"HTTP {response.status_code}", api=api)
    body = response.content
    if "json" not in response.headers.get("Content-Type", "") and not body.lstrip().startswith(b"{"):
        return body
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return body
    if not isinstance(payload, dict):
        return body
    errcode = int(payload.get("errcode") or 0)
    if errcode:
        raise WeChatError(errcode, str(payload.get("errmsg", "")), api=api)
    return cast(JSONObject, payload)


def delete_material(client: WeChatClient, media_id: str) -> None:
    """Delete a permanent material (40007 when WeChat does not know it)."""
    client.call("POST", "/cgi-bin/material/del_material", body={"media_id": media_id})


def upload_body_image(
    client: WeChatClient, content: bytes, filename: str, content_type: str = "image/jpeg"
) -> str:
    """Upload an image for an article body (media/uploadimg); its URL on WeChat's domain."""
    answer = client.call(
        "POST",
        "/cgi-bin/media/uploadimg",
        files={"media": (filename, content, content_type)},
        idempotent=False,
    )
    return str(answer["url"])


def items(answer: JSONObject) -> list[JSONObject]:
    return cast(list[JSONObject], answer.get("item") or [])
