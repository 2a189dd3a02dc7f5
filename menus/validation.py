"""THE menu validator: one function used by the editor, the admin, the JSON import,
the fan-out and the publish task.

It checks everything WeChat's `menu/create` checks (docs/wechat-protocol.md §b), so a
menu that passes here is not rejected for its shape, and each problem names the
WeChat error code it prevents. R-MENU-01: at most 3 top-level buttons with at
most 5 sub-buttons each. R-MENU-02: a click button carries a key (and our reply
text); a view button carries an http(s) URL. Lengths are UTF-8 *bytes*.

Pure Python, no database: `validate_menu(data, certified=...)` returns a list
of `MenuIssue` (empty when the menu is fine).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.utils.translation import gettext as _

MAX_BUTTONS = 3  # R-MENU-01
MAX_SUB_BUTTONS = 5  # R-MENU-01
MAX_NAME_BYTES = 16
MAX_SUB_NAME_BYTES = 60
MAX_KEY_BYTES = 128
MAX_URL_BYTES = 1024
MAX_URL_DOMAINS = 3
MAX_ID_BYTES = 128  # media_id / article_id
MAX_REPLY_BYTES = 2048  # a passive text reply; longer ones are cut by WeChat

# R-MENU-02 and docs/wechat-protocol.md §b: the 13 leaf types and the fields each requires.
BUTTON_TYPES: dict[str, tuple[str, ...]] = {
    "click": ("key",),
    "view": ("url",),
    "scancode_push": ("key",),
    "scancode_waitmsg": ("key",),
    "pic_sysphoto": ("key",),
    "pic_photo_or_album": ("key",),
    "pic_weixin": ("key",),
    "location_select": ("key",),
    "media_id": ("media_id",),
    "view_limited": ("media_id",),
    "article_id": ("article_id",),
    "article_view_limited": ("article_id",),
    "miniprogram": ("appid", "pagepath", "url"),
}
MINIPROGRAM_APPID = re.compile(r"^wx[0-9a-f]{16}\Z")
KEY_TYPES = frozenset(t for t, fields in BUTTON_TYPES.items() if "key" in fields)
#: every field a leaf may carry, in the order the editor shows them
LEAF_FIELDS = ("key", "url", "media_id", "article_id", "appid", "pagepath")


# WeChat error codes, (top-level, sub-button) where they differ (docs/wechat-protocol.md §b).
class Codes:
    BUTTON_SIZE = 40016
    BUTTON_TYPE = (40017, 40024)
    NAME_SIZE = (40018, 40025)
    KEY_SIZE = (40019, 40026)
    URL_SIZE = (40020, 40027)
    SUB_LEVEL = 40022
    SUB_BUTTON_SIZE = 40023
    URL_DOMAIN = (40055, 40054)
    USE_BUTTON_TYPE = (40119, 40120)
    MEDIA_ID = 40007
    ARTICLE_ID = 40007
    # Not in the protocol notes' menu table, but WeChat's global code table has them:
    # 40165 invalid weapp pagepath, 40166 invalid weapp appid (the sandbox agrees).
    MINIPROGRAM_PAGEPATH = 40165
    MINIPROGRAM_APPID = 40166
    MISSING_SUB_BUTTONS = 41007
    TOO_MANY_DOMAINS = 65316


@dataclass(frozen=True)
class MenuIssue:
    """One problem: where (`path`, e.g. (1, 3) = 2nd top-level, its 4th sub-button),
    which field, a translated message, and the WeChat errcode it prevents (None for
    our own rules)."""

    path: tuple[int, ...]
    field: str
    message: str
    errcode: int | None = None

    @property
    def location(self) -> str:
        """Human pointer to the button, e.g. “Button 2 › Sub-button 4”."""
        if not self.path:
            return _("Menu")
        parts = [_("Button %(n)s") % {"n": self.path[0] + 1}]
        if len(self.path) > 1:
            parts.append(_("Sub-button %(n)s") % {"n": self.path[1] + 1})
        return " › ".join(parts)

    @property
    def dotted(self) -> str:
        """Machine pointer used by the editor: "button[1].sub_button[3]"."""
        if not self.path:
            return ""
        dotted = f"button[{self.path[0]}]"
        if len(self.path) > 1:
            dotted += f".sub_button[{self.path[1]}]"
        return dotted

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}"
        if self.errcode is not None:
            text += " " + _("(prevents WeChat error %(code)s)") % {"code": self.errcode}
        return text

    def as_dict(self) -> dict:
        return {
            "path": list(self.path),
            "pointer": self.dotted,
            "field": self.field,
            "location": self.location,
            "message": self.message,
            "errcode": self.errcode,
            "text": str(self),
        }


def byte_length(value: str) -> int:
    return len(value.encode("utf-8"))


def _pick(codes, sub: bool) -> int:
    return codes[1] if sub else codes[0]


def _text(button: dict, field: str) -> str:
    value = button.get(field)
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _url_issue(url: str, path: tuple[int, ...], sub: bool, field: str = "url") -> MenuIssue | None:
    if not url:
        return MenuIssue(path, field, _("A URL is required."), _pick(Codes.URL_SIZE, sub))
    if byte_length(url) > MAX_URL_BYTES:
        return MenuIssue(
            path,
            field,
            _("The URL is %(n)s bytes long; WeChat allows at most %(max)s bytes.")
            % {"n": byte_length(url), "max": MAX_URL_BYTES},
            _pick(Codes.URL_SIZE, sub),
        )
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        return MenuIssue(
            path, field, _("The URL must start with http:// or https://."), _pick(Codes.URL_DOMAIN, sub)
        )
    try:
        host = parts.hostname
    except ValueError:
        host = None
    if not host:
        return MenuIssue(path, field, _("The URL has no valid domain."), _pick(Codes.URL_DOMAIN, sub))
    return None


def url_domain(url: str) -> str | None:
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return host.lower() if host else None


def _validate_leaf(button: dict, path: tuple[int, ...], sub: bool, certified: bool) -> list[MenuIssue]:
    issues: list[MenuIssue] = []
    kind = button["type"]  # checked by _validate_type first
    required = BUTTON_TYPES[kind]
    if "key" in required:
        key = _text(button, "key")
        if not key:
            issues.append(
                MenuIssue(
                    path, "key", _("A key is required for this button type."), _pick(Codes.KEY_SIZE, sub)
                )
            )
        elif byte_length(key) > MAX_KEY_BYTES:
            issues.append(
                MenuIssue(
                    path,
                    "key",
                    _("The key is %(n)s bytes long; WeChat allows at most %(max)s bytes.")
                    % {"n": byte_length(key), "max": MAX_KEY_BYTES},
                    _pick(Codes.KEY_SIZE, sub),
                )
            )
    if "url" in required:
        issue = _url_issue(_text(button, "url"), path, sub)
        if issue:
            issues.append(issue)
    if "media_id" in required and not 0 < byte_length(_text(button, "media_id")) <= MAX_ID_BYTES:
        issues.append(
            MenuIssue(
                path,
                "media_id",
                _("A permanent material media_id (at most %(max)s bytes) is required.")
                % {"max": MAX_ID_BYTES},
                Codes.MEDIA_ID,
            )
        )
    if "article_id" in required and not 0 < byte_length(_text(button, "article_id")) <= MAX_ID_BYTES:
        issues.append(
            MenuIssue(
                path,
                "article_id",
                _("The article_id of a published article (at most %(max)s bytes) is required.")
                % {"max": MAX_ID_BYTES},
                Codes.ARTICLE_ID,
            )
        )
    if kind == "miniprogram":
        if not certified:
            issues.append(
                MenuIssue(
                    path,
                    "type",
                    _("Mini program buttons are only allowed on certified accounts."),
                    _pick(Codes.USE_BUTTON_TYPE, sub),
                )
            )
        if not MINIPROGRAM_APPID.match(_text(button, "appid")):
            issues.append(
                MenuIssue(
                    path,
                    "appid",
                    _("The mini program's AppID is required: “wx” followed by 16 hex digits."),
                    Codes.MINIPROGRAM_APPID,
                )
            )
        if not 0 < byte_length(_text(button, "pagepath")) <= MAX_URL_BYTES:
            issues.append(
                MenuIssue(
                    path,
                    "pagepath",
                    _("The mini program page path is required (at most %(max)s bytes).")
                    % {"max": MAX_URL_BYTES},
                    Codes.MINIPROGRAM_PAGEPATH,
                )
            )
    if kind == "click":
        reply = _text(button, "reply")
        if byte_length(reply) > MAX_REPLY_BYTES:
            issues.append(
                MenuIssue(
                    path,
                    "reply",
                    _("The reply is %(n)s bytes long; keep it under %(max)s bytes.")
                    % {"n": byte_length(reply), "max": MAX_REPLY_BYTES},
                )
            )
    return issues


def _validate_name(button: dict, path: tuple[int, ...], sub: bool) -> list[MenuIssue]:
    name = _text(button, "name")
    limit = MAX_SUB_NAME_BYTES if sub else MAX_NAME_BYTES
    code = _pick(Codes.NAME_SIZE, sub)
    if not name.strip():
        return [MenuIssue(path, "name", _("A name is required."), code)]
    if byte_length(name) > limit:
        return [
            MenuIssue(
                path,
                "name",
                _(
                    "The name is %(n)s bytes long; at most %(max)s bytes are allowed here "
                    "(a Chinese character takes 3 bytes)."
                )
                % {"n": byte_length(name), "max": limit},
                code,
            )
        ]
    return []


def _validate_type(button: dict, path: tuple[int, ...], sub: bool) -> list[MenuIssue]:
    kind = button.get("type")
    if kind not in BUTTON_TYPES:
        if not kind:
            return [MenuIssue(path, "type", _("Choose what the button does."), _pick(Codes.BUTTON_TYPE, sub))]
        return [
            MenuIssue(
                path,
                "type",
                _("“%(type)s” is not a WeChat button type.") % {"type": kind},
                _pick(Codes.BUTTON_TYPE, sub),
            )
        ]
    return []


def validate_menu(data, *, certified: bool) -> list[MenuIssue]:
    """Check a menu tree (`{"button": [...]}`) the way WeChat's menu/create does.

    R-MENU-01 counts, UTF-8 byte lengths, type-specific fields, URL schemes and
    the 3-domain limit, miniprogram only when `certified`, and our own rule that
    keys are unique within the menu (so a click reply is unambiguous, R-MENU-02).
    """
    if not isinstance(data, dict) or not isinstance(data.get("button"), list):
        return [
            MenuIssue((), "button", _("The menu must be an object with a “button” list."), Codes.BUTTON_SIZE)
        ]
    buttons = data["button"]
    issues: list[MenuIssue] = []
    if not 1 <= len(buttons) <= MAX_BUTTONS:
        issues.append(
            MenuIssue(
                (),
                "button",
                _("A menu has 1 to %(max)s top-level buttons; this one has %(n)s.")
                % {"max": MAX_BUTTONS, "n": len(buttons)},
                Codes.BUTTON_SIZE,
            )
        )
    domains: dict[str, tuple[int, ...]] = {}
    keys: dict[str, tuple[int, ...]] = {}

    def note_leaf(button: dict, path: tuple[int, ...]) -> None:
        if button.get("type") in ("view", "miniprogram"):
            domain = url_domain(_text(button, "url"))
            if domain:
                domains.setdefault(domain, path)
        if button.get("type") in KEY_TYPES:
            key = _text(button, "key")
            if key and key in keys:
                issues.append(
                    MenuIssue(
                        path,
                        "key",
                        _("The key “%(key)s” is already used by %(other)s; keys must be unique.")
                        % {"key": key, "other": MenuIssue(keys[key], "", "").location},
                    )
                )
            elif key:
                keys[key] = path

    for i, button in enumerate(buttons):
        path = (i,)
        if not isinstance(button, dict):
            issues.append(MenuIssue(path, "", _("A button must be an object."), Codes.BUTTON_TYPE[0]))
            continue
        issues += _validate_name(button, path, sub=False)
        subs = button.get("sub_button")
        if isinstance(subs, dict):  # get_current_selfmenu_info's shape, not menu/create's
            subs = subs.get("list")
        if isinstance(subs, list) and subs:
            if button.get("type"):
                issues.append(
                    MenuIssue(
                        path,
                        "type",
                        _(
                            "A button with sub-buttons cannot have its own action; remove the type "
                            "or the sub-buttons."
                        ),
                        Codes.BUTTON_TYPE[0],
                    )
                )
            if len(subs) > MAX_SUB_BUTTONS:
                issues.append(
                    MenuIssue(
                        path,
                        "sub_button",
                        _("A button holds 1 to %(max)s sub-buttons; this one has %(n)s.")
                        % {"max": MAX_SUB_BUTTONS, "n": len(subs)},
                        Codes.SUB_BUTTON_SIZE,
                    )
                )
            for j, sub in enumerate(subs):
                sub_path = (i, j)
                if not isinstance(sub, dict):
                    issues.append(
                        MenuIssue(sub_path, "", _("A button must be an object."), Codes.BUTTON_TYPE[1])
                    )
                    continue
                issues += _validate_name(sub, sub_path, sub=True)
                nested = sub.get("sub_button")
                if isinstance(nested, list | dict) and nested:
                    issues.append(
                        MenuIssue(
                            sub_path,
                            "sub_button",
                            _("Sub-buttons cannot have sub-buttons of their own."),
                            Codes.SUB_LEVEL,
                        )
                    )
                    continue
                type_issues = _validate_type(sub, sub_path, sub=True)
                issues += type_issues
                if not type_issues:
                    issues += _validate_leaf(sub, sub_path, True, certified)
                    note_leaf(sub, sub_path)
        elif not button.get("type") and "sub_button" in button:
            issues.append(
                MenuIssue(
                    path,
                    "sub_button",
                    _("Add at least one sub-button, or give the button an action."),
                    Codes.MISSING_SUB_BUTTONS,
                )
            )
        else:
            type_issues = _validate_type(button, path, sub=False)
            issues += type_issues
            if not type_issues:
                issues += _validate_leaf(button, path, False, certified)
                note_leaf(button, path)

    if len(domains) > MAX_URL_DOMAINS:
        extra = list(domains.items())[MAX_URL_DOMAINS]
        issues.append(
            MenuIssue(
                extra[1],
                "url",
                _("The menu links to %(n)s domains (%(domains)s); WeChat allows at most %(max)s.")
                % {"n": len(domains), "domains": ", ".join(domains), "max": MAX_URL_DOMAINS},
                Codes.TOO_MANY_DOMAINS,
            )
        )
    return issues


def new_key(taken: set[str]) -> str:
    while True:
        key = f"MENU_{secrets.token_hex(4).upper()}"
        if key not in taken:
            return key


def normalize_menu(data: dict) -> dict:
    """Tidy a tree from the editor or an import before validating it.

    Trims names, drops fields the button's type does not use (an editor that
    changed a button's type leaves them behind), turns the selfmenu shape
    `{"sub_button": {"list": [...]}}` into a list, drops empty `sub_button`
    echoes, and generates a key for key-type buttons left blank, unique within
    the menu (R-MENU-02). Anything it cannot understand is kept for the validator.
    """
    if not isinstance(data, dict) or not isinstance(data.get("button"), list):
        return data
    taken: set[str] = set()
    leaves: list[dict] = []

    def clean(button):
        if not isinstance(button, dict):
            return button
        out = dict(button)
        if isinstance(out.get("name"), str):
            out["name"] = out["name"].strip()
        subs = out.get("sub_button")
        if isinstance(subs, dict):
            subs = subs.get("list", [])
        if isinstance(subs, list) and subs:
            out["sub_button"] = [clean(sub) for sub in subs]
            if not out.get("type"):
                out.pop("type", None)
            return out
        if out.get("type"):
            out.pop("sub_button", None)
        kind = out.get("type")
        if kind in BUTTON_TYPES:
            used = set(BUTTON_TYPES[kind]) | ({"reply"} if kind == "click" else set())
            for field in (*LEAF_FIELDS, "reply"):
                if field not in used:
                    out.pop(field, None)
                elif isinstance(out.get(field), str):
                    out[field] = out[field].strip() if field != "reply" else out[field]
            if kind in KEY_TYPES:
                if out.get("key"):
                    taken.add(out["key"])
                leaves.append(out)
        return out

    result = dict(data)
    result["button"] = [clean(button) for button in data["button"]]
    for leaf in leaves:
        if not leaf.get("key"):
            leaf["key"] = new_key(taken)
            taken.add(leaf["key"])
    return result


def click_replies(data: dict) -> dict[str, str]:
    """key → reply for every click button of a tree (R-MENU-02)."""
    found: dict[str, str] = {}
    for button in (data or {}).get("button", []):
        for leaf in [button, *(button.get("sub_button") or [])]:
            if isinstance(leaf, dict) and leaf.get("type") == "click" and leaf.get("key"):
                found.setdefault(leaf["key"], leaf.get("reply") or "")
    return found
