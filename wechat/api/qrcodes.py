"""Channel QR codes (带参数二维码).

Facts (docs/wechat-protocol.md §h "QR codes", checked against the official 生成带参数的二维码
page, developers.weixin.qq.com/doc/service/api/qrcode/qrcodes/api_createqrcode):

- ``POST /cgi-bin/qrcode/create`` with ``action_name``: ``QR_SCENE`` / ``QR_STR_SCENE``
  (temporary: ``expire_seconds`` default 60, at most **2,592,000** = 30 days), ``QR_LIMIT_SCENE``
  (permanent, ``scene_id`` 1–**100,000**), ``QR_LIMIT_STR_SCENE`` (permanent, ``scene_str``);
  ``scene_str`` is 1–**64** characters. A temporary ``scene_id`` is a 32-bit non-zero integer.
- The answer: ``ticket``, ``expire_seconds`` (temporary codes only) and ``url`` (the content the
  QR image encodes, from which a PNG can be drawn locally).
- ``GET https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=…`` (ticket URL-encoded, no token)
  answers the image.
- A scan pushes ``subscribe`` with ``EventKey`` ``qrscene_<scene>`` and ``Ticket`` for a new
  follower, or ``SCAN`` with ``EventKey`` ``<scene>`` for an existing one (§d).
"""

from __future__ import annotations

from urllib.parse import quote

from wechat.client import JSONObject, WeChatClient

TEMP_MAX_SECONDS = 2_592_000
PERMANENT_MAX_SCENE_ID = 100_000
SCENE_STR_MAX = 64
SHOWQRCODE_URL = "https://mp.weixin.qq.com/cgi-bin/showqrcode"


def create(
    client: WeChatClient,
    *,
    permanent: bool,
    scene_id: int | None = None,
    scene_str: str | None = None,
    expire_seconds: int | None = None,
) -> JSONObject:
    """Create a code; answers ``{"ticket", "url", "expire_seconds"?}``."""
    if (scene_id is None) == (scene_str is None):
        raise ValueError("give exactly one of scene_id and scene_str")
    if permanent:
        action = "QR_LIMIT_SCENE" if scene_id is not None else "QR_LIMIT_STR_SCENE"
    else:
        action = "QR_SCENE" if scene_id is not None else "QR_STR_SCENE"
    scene: JSONObject = {"scene_id": scene_id} if scene_id is not None else {"scene_str": scene_str}
    body: JSONObject = {"action_name": action, "action_info": {"scene": scene}}
    if not permanent and expire_seconds is not None:
        body["expire_seconds"] = expire_seconds
    return client.call("POST", "/cgi-bin/qrcode/create", body=body, idempotent=False)


def image_url(ticket: str, base_url: str = "https://mp.weixin.qq.com") -> str:
    """The ``showqrcode`` address of a ticket (``base_url`` is the sandbox's in tests)."""
    return f"{base_url}/cgi-bin/showqrcode?ticket={quote(ticket, safe='')}"
