"""WeChat's validation of ``menu/create`` bodies, with its exact error codes (protocol §b).

Lengths are UTF-8 **bytes**: name ≤ 16 (top level) / ≤ 60 (sub-button), key ≤ 128,
url ≤ 1024. Like WeChat, a top-level button with a non-empty ``sub_button`` list
is a parent and its own ``type`` is ignored.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

KEY_TYPES = frozenset(
    {
        "click",
        "scancode_push",
        "scancode_waitmsg",
        "pic_sysphoto",
        "pic_photo_or_album",
        "pic_weixin",
        "location_select",
    }
)
MEDIA_TYPES = frozenset({"media_id", "view_limited"})
ARTICLE_TYPES = frozenset({"article_id", "article_view_limited"})
BUTTON_TYPES = KEY_TYPES | MEDIA_TYPES | ARTICLE_TYPES | {"view", "miniprogram"}
#: the fields WeChat keeps and echoes back from a button
ECHOED_FIELDS = ("type", "name", "key", "url", "media_id", "appid", "pagepath", "article_id")

MAX_TOP_BUTTONS, MAX_SUB_BUTTONS, MAX_DOMAINS = 3, 5, 3
TOP_NAME_BYTES, SUB_NAME_BYTES, KEY_BYTES, URL_BYTES = 16, 60, 128, 1024
_MINIPROGRAM_APPID = re.compile(r"^wx[0-9a-f]{16}\Z")

Error = tuple[int, str]


def _bytes(value) -> int:
    return len(value.encode("utf-8")) if isinstance(value, str) else -1


def _leaf(button: dict, *, sub: bool, certified: bool, domains: set[str]) -> Error | None:
    kind = button.get("type")
    if kind not in BUTTON_TYPES:
        return (40024, "invalid sub button type") if sub else (40017, "invalid button type")
    if kind == "miniprogram" and not certified:
        return (40120, "invalid use button type") if sub else (40119, "invalid use button type")
    if kind in KEY_TYPES and not 0 < _bytes(button.get("key")) <= KEY_BYTES:
        return (40026, "invalid sub button key size") if sub else (40019, "invalid button key size")
    if kind in ("view", "miniprogram"):
        url = button.get("url")
        if not isinstance(url, str) or not 0 < _bytes(url) <= URL_BYTES:
            return (40027, "invalid sub button url size") if sub else (40020, "invalid button url size")
        host = None
        if url.lower().startswith(("http://", "https://")):
            try:
                host = urlsplit(url).hostname
            except ValueError:
                host = None
        if not host:
            return (40054, "invalid sub button url domain") if sub else (40055, "invalid button url domain")
        domains.add(host.lower())
    if kind == "miniprogram":
        if not _MINIPROGRAM_APPID.match(str(button.get("appid", ""))):
            return 40166, "invalid weapp appid"
        if not 0 < _bytes(button.get("pagepath")) <= URL_BYTES:
            return 40165, "invalid weapp pagepath"
    if kind in MEDIA_TYPES and not 0 < _bytes(button.get("media_id")) <= 128:
        return 40007, "invalid media_id"
    if kind in ARTICLE_TYPES and not 0 < _bytes(button.get("article_id")) <= 128:
        return 40007, "invalid article_id"
    return None


def validate_menu(body: dict, *, certified: bool = True) -> Error | None:
    """None when WeChat would accept the menu, else (errcode, errmsg)."""
    buttons = body.get("button")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_TOP_BUTTONS:
        return 40016, "invalid button size"
    domains: set[str] = set()
    for button in buttons:
        if not isinstance(button, dict):
            return 40017, "invalid button type"
        if not 0 < _bytes(button.get("name")) <= TOP_NAME_BYTES:
            return 40018, "invalid button name size"
        subs = button.get("sub_button")
        if subs:
            if not isinstance(subs, list) or len(subs) > MAX_SUB_BUTTONS:
                return 40023, "invalid sub button size"
            for sub in subs:
                if not isinstance(sub, dict):
                    return 40024, "invalid sub button type"
                if not 0 < _bytes(sub.get("name")) <= SUB_NAME_BYTES:
                    return 40025, "invalid sub button name size"
                if sub.get("sub_button"):
                    return 40022, "invalid sub_menu level"
                error = _leaf(sub, sub=True, certified=certified, domains=domains)
                if error:
                    return error
        elif "type" not in button:
            return 41007, "missing sub buttons"
        else:
            error = _leaf(button, sub=False, certified=certified, domains=domains)
            if error:
                return error
    if len(domains) > MAX_DOMAINS:
        return 65316, "too many domains in menu"
    return None


def _echo(button: dict) -> dict:
    return {k: button[k] for k in ECHOED_FIELDS if k in button}


def normalise(buttons: list[dict]) -> list[dict]:
    """What WeChat stores: known fields only; every button echoed with ``sub_button``."""
    stored = []
    for button in buttons:
        if button.get("sub_button"):
            stored.append(
                {
                    "name": button["name"],
                    "sub_button": [{**_echo(s), "sub_button": []} for s in button["sub_button"]],
                }
            )
        else:
            stored.append({**_echo(button), "sub_button": []})
    return stored


def selfmenu_shape(buttons: list[dict]) -> list[dict]:
    """get_current_selfmenu_info's shape: sub-menus are objects ``{"list": [...]}``."""
    shaped = []
    for button in buttons:
        if button.get("sub_button"):
            shaped.append(
                {"name": button["name"], "sub_button": {"list": [_echo(s) for s in button["sub_button"]]}}
            )
        else:
            shaped.append(_echo(button))
    return shaped
