"""Temporary media (临时素材); permanent materials belong to their own area."""

from __future__ import annotations

from wechat.client import WeChatClient


def upload(
    client: WeChatClient,
    kind: str,
    content: bytes,
    filename: str,
    content_type: str = "application/octet-stream",
) -> str:
    """Upload temporary media (``kind`` image/voice/video/thumb; WeChat keeps it 3 days);
    its media_id. Not re-sent once it may have reached WeChat (a second copy is harmless
    but counts against the quota)."""
    result = client.call(
        "POST",
        "/cgi-bin/media/upload",
        params={"type": kind},
        files={"media": (filename, content, content_type)},
        idempotent=False,
    )
    return str(result["media_id"])
