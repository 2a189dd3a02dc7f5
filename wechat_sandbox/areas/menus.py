"""Custom menus (protocol §b): menu/create, get, delete, get_current_selfmenu_info,
conditional menus and trymatch, and the simulated users' profiles trymatch reads
(``POST /sandbox/users/<appid>``). Validation rules are in ``menu_rules``.
"""

from __future__ import annotations

import copy

from wechat_sandbox import menu_rules
from wechat_sandbox.core import AppState, Sandbox
from wechat_sandbox.endpoints import KF_PREFIX, OPENID, api_route
from wechat_sandbox.http import SandboxRequest, SandboxResponse, route


@api_route("POST", "/cgi-bin/menu/create", quota=1000)
def menu_create(sb: Sandbox, request: SandboxRequest, app: AppState):
    body = request.json()
    error = menu_rules.validate_menu(body, certified=app.certified)
    if error:
        return sb.error(*error, app=app)
    with sb._lock:
        app.menu = menu_rules.normalise(body["button"])
        app.menu_history.append([button.get("name", "") for button in app.menu])
        app.website_menu = None
        if app.conditional_menus:
            app.menu_id = _next_menu_id(sb)
    return sb.ok()


def _next_menu_id(sb: Sandbox) -> int:
    sb._serial += 1
    return 208_000_000 + sb._serial


@api_route("GET", "/cgi-bin/menu/get", quota=10_000)
def menu_get(sb: Sandbox, request: SandboxRequest, app: AppState):
    with sb._lock:
        menu = copy.deepcopy(app.menu)
    if menu is None:
        return sb.error(46003, "menu no exist", app=app)
    answer: dict = {"menu": {"button": menu}}
    with sb._lock:
        if app.conditional_menus:
            # menuid and conditionalmenu only appear once conditional menus exist
            answer["menu"]["menuid"] = app.menu_id or _next_menu_id(sb)
            answer["conditionalmenu"] = copy.deepcopy(app.conditional_menus)
    return answer


@api_route("GET", "/cgi-bin/get_current_selfmenu_info", quota=10_000)
def selfmenu_info(sb: Sandbox, request: SandboxRequest, app: AppState):
    with sb._lock:
        if app.menu is not None:
            buttons = menu_rules.selfmenu_shape(app.menu)
        else:
            buttons = copy.deepcopy(app.website_menu or [])
    return {"is_menu_open": 1 if app.menu_open else 0, "selfmenu_info": {"button": buttons}}


@api_route("GET", "/cgi-bin/menu/delete", quota=1000)
def menu_delete(sb: Sandbox, request: SandboxRequest, app: AppState):
    with sb._lock:
        app.menu = None
        app.menu_id = None
        app.website_menu = None
        app.conditional_menus = []
    return sb.ok()


PRIVACY_MATCH_FIELDS = ("sex", "country", "province", "city", "language")
MATCH_FIELDS = ("tag_id", "client_platform_type", "group_id", *PRIVACY_MATCH_FIELDS)


@api_route("POST", "/cgi-bin/menu/addconditional", quota=2000)
def menu_add_conditional(sb: Sandbox, request: SandboxRequest, app: AppState):
    """Conditional menu: needs a default menu (65303), a matchrule (65304) without the
    privacy fields WeChat now refuses (65320); answers {"menuid": "..."}."""
    body = request.json()
    if app.menu is None:
        return sb.error(65303, "there is no selfmenu, please create selfmenu first", app=app)
    rule = body.get("matchrule")
    if not isinstance(rule, dict) or not any(str(rule.get(k) or "") for k in MATCH_FIELDS):
        return sb.error(65304, "match rule empty", app=app)
    if any(str(rule.get(k) or "") for k in PRIVACY_MATCH_FIELDS):
        return sb.error(65320, "matchrule contains privacy fields", app=app)
    error = menu_rules.validate_menu(body, certified=app.certified)
    if error:
        return sb.error(*error, app=app)
    with sb._lock:
        menu_id = _next_menu_id(sb)
        app.conditional_menus.append(
            {
                "button": menu_rules.normalise(body["button"]),
                "matchrule": {k: str(v) for k, v in rule.items() if k in MATCH_FIELDS},
                "menuid": menu_id,
            }
        )
        app.menu_id = app.menu_id or _next_menu_id(sb)
    return {"menuid": str(menu_id)}


@api_route("POST", "/cgi-bin/menu/delconditional", quota=2000)
def menu_del_conditional(sb: Sandbox, request: SandboxRequest, app: AppState):
    menu_id = str(request.json().get("menuid", ""))
    with sb._lock:
        kept = [m for m in app.conditional_menus if str(m["menuid"]) != menu_id]
        if len(kept) == len(app.conditional_menus):
            return sb.error(65301, "menuid not exist", app=app)
        app.conditional_menus = kept
    return sb.ok()


def rule_matches(rule: dict, profile: dict) -> bool:
    """Whether a conditional menu's matchrule fits a user: every field the rule sets must
    equal the user's (tag_id: one of the user's tags); a rule field the user's profile
    does not know never matches."""
    for name in MATCH_FIELDS:
        wanted = str(rule.get(name) or "")
        if not wanted:
            continue
        if name in ("tag_id", "group_id"):
            if wanted not in {str(t) for t in profile.get("tag_ids") or []}:
                return False
        elif str(profile.get(name) or "") != wanted:
            return False
    return True


@api_route("POST", "/cgi-bin/menu/trymatch", quota=20_000)
def menu_try_match(sb: Sandbox, request: SandboxRequest, app: AppState):
    """The menu a user would see: the newest conditional menu whose rule fits the user's
    profile (set with ``Sandbox.set_user`` or ``POST /sandbox/users/<appid>``), else the
    default menu. Answers ``{"button": [...]}`` (+ ``"menuid"`` for a conditional one)."""
    user_id = request.json().get("user_id")
    if not isinstance(user_id, str) or not (OPENID.match(user_id) or KF_PREFIX.match(user_id)):
        return sb.error(65302, "no such user", app=app)
    with sb._lock:
        if app.menu is None:
            return sb.error(46003, "menu no exist", app=app)
        profile = app.users.get(user_id, {})
        for conditional in reversed(app.conditional_menus):  # matching is newest-first
            if rule_matches(conditional["matchrule"], profile):
                return {"button": copy.deepcopy(conditional["button"]), "menuid": conditional["menuid"]}
        return {"button": copy.deepcopy(app.menu)}


@route("POST", "/sandbox/users/<appid>")
def set_user(sb: Sandbox, request: SandboxRequest, appid: str):
    """Give a simulated user a profile for menu/trymatch:
    ``{"openid", "tag_ids": [2], "client_platform_type": "2", ...}``."""
    if sb.app(appid) is None:
        return SandboxResponse(status=404, body=b'{"errcode":40013,"errmsg":"invalid appid"}')
    body = request.json()
    openid = body.pop("openid", None)
    if not isinstance(openid, str) or not OPENID.match(openid):
        return sb.error(40003, "invalid openid")
    sb.set_user(appid, openid, **{k: v for k, v in body.items() if k == "tag_ids" or k in MATCH_FIELDS})
    return sb.ok()
