"""The menu's wire format: what WeChat's menu JSON is, apart from what we store beside it.

A leaf of the menus app (it imports nothing of ours), so the models, the conditional-menu helpers
and the services can all lean on it without importing one another.
"""

from __future__ import annotations

import copy
from typing import Any


def wechat_body(data: dict[str, Any]) -> dict[str, Any]:
    """Strip our extensions (click replies) from a menu tree, leaving WeChat's JSON."""
    body = copy.deepcopy(data or {})
    for button in body.get("button", []) or []:
        if isinstance(button, dict):
            button.pop("reply", None)
            for sub in button.get("sub_button", []) or []:
                if isinstance(sub, dict):
                    sub.pop("reply", None)
    return {"button": body.get("button", [])}


def canonical(data: dict[str, Any]) -> list[dict[str, Any]]:
    """A comparable form of a tree: WeChat's fields only, empty ones dropped."""
    fields = ("name", "type", "key", "url", "media_id", "article_id", "appid", "pagepath")

    def one(button: dict[str, Any]) -> dict[str, Any]:
        out = {f: button[f] for f in fields if button.get(f) not in (None, "")}
        subs = button.get("sub_button")
        if isinstance(subs, dict):
            subs = subs.get("list")
        if subs:
            out["sub_button"] = [one(sub) for sub in subs]
        return out

    return [one(button) for button in (data or {}).get("button", []) if isinstance(button, dict)]
