"""The WeChat endpoints the sandbox emulates, and its own control endpoints.

Every WeChat API call goes through ``_guard``: fault injection, access-token
check (41001 missing, 40014 malformed, 40001 unknown/superseded, 42001 expired),
then the per-API daily quota (45009). Bodies are read as UTF-8 JSON whatever
the Content-Type, as WeChat does.
"""

from __future__ import annotations

import copy
import functools
import re

from . import menu_rules
from .core import (
    MAX_KF_ACCOUNTS,
    QUOTA_CLEARS_PER_MONTH,
    REPLY_WINDOWS,
    STABLE_TOKEN_API,
    TOKEN_API,
    AppState,
    Fault,
    Sandbox,
    beijing_day,
    fingerprint,
)
from .http import BadBody, Drop, SandboxRequest, SandboxResponse, route

_OPENID = re.compile(r"^[A-Za-z0-9_-]{6,64}\Z")
_KF_PREFIX = re.compile(r"^[A-Za-z0-9_]{1,10}\Z")
MESSAGE_TYPES = {
    "text",
    "image",
    "voice",
    "video",
    "music",
    "news",
    "mpnews",
    "mpnewsarticle",
    "msgmenu",
    "wxcard",
    "miniprogrampage",
}


def _guard(sb: Sandbox, request: SandboxRequest, api: str) -> AppState | SandboxResponse | Drop:
    """Faults, token and quota checks shared by every token-authenticated API."""
    token = request.query.get("access_token")
    record, errcode = sb.check_token(token)
    appid = record.appid if record else None
    injected = sb.inject(api, appid)
    if injected is not None:
        return injected
    app = sb.app(appid) if appid else None
    if errcode:
        if app is not None:
            with sb._lock:
                app.rejected_tokens += 1
        messages = {
            41001: "access_token missing",
            40014: "invalid access_token",
            40001: "invalid credential, access_token is invalid or not latest",
            42001: "access_token expired",
        }
        return sb.error(errcode, messages[errcode], app=app)
    assert app is not None  # a usable token was issued to a registered account
    if not sb.count_call(app, api):
        return sb.error(45009, "reach max api daily quota limit", app=app)
    return app


def _body(request: SandboxRequest) -> dict:
    return request.json()


def api_route(method: str | tuple[str, ...], path: str, *, kf: bool = False):
    """Register a token-authenticated WeChat API: the handler runs only once faults, the
    access token and the daily quota (and, with `kf`, the customer-service switch) have
    been checked, and receives the caller's AppState."""
    guard = _kf_guard if kf else _guard

    def decorate(handler):
        @functools.wraps(handler)
        def guarded(sb: Sandbox, request: SandboxRequest, **params):
            app = guard(sb, request, path)
            if not isinstance(app, AppState):
                return app
            return handler(sb, request, app, **params)

        route(method, path)(guarded)
        return handler

    return decorate


# --- access tokens (protocol §a) -----------------------------------------------------------
def _token_common(sb: Sandbox, request: SandboxRequest, api: str, params: dict):
    injected = sb.inject(api, params.get("appid"))
    if injected is not None:
        return injected
    if params.get("grant_type") != "client_credential":
        return sb.error(40002, "invalid grant_type")
    appid, secret = params.get("appid"), params.get("secret")
    if not appid:
        return sb.error(41002, "appid missing")
    if not secret:
        return sb.error(41004, "appsecret missing")
    app = sb.app(appid)
    if app is None:
        return sb.error(40013, "invalid appid")
    if app.ip_whitelist is not None and request.client_ip not in app.ip_whitelist:
        return sb.error(
            40164,
            f"invalid ip {request.client_ip} ipv6 ::ffff:{request.client_ip}, not in whitelist",
            app=app,
        )
    if app.frozen:
        return sb.error(40243, "AppSecret is frozen", app=app)
    if secret != app.secret:
        fresh = sb.resolve_app(appid) if sb.resolve_app else None  # secret changed in the DB?
        if fresh and fresh.get("secret") == secret:
            fresh = dict(fresh)
            sb.register_app(appid, fresh.pop("secret"), **fresh)
        else:
            return sb.error(40125, "invalid appsecret", app=app)
    if not sb.count_call(app, api):
        return sb.error(
            45009, "reach max api daily quota limit, could get access_token by getStableAccessToken", app=app
        )
    return app


@route("GET", TOKEN_API)
def token(sb: Sandbox, request: SandboxRequest):
    app = _token_common(sb, request, TOKEN_API, request.query)
    if not isinstance(app, AppState):
        return app
    record = sb.issue_classic_token(app)
    return {"access_token": record.token, "expires_in": int(record.expires_at - record.issued_at)}


@route("POST", STABLE_TOKEN_API)
def stable_token(sb: Sandbox, request: SandboxRequest):
    body = _body(request)
    app = _token_common(sb, request, STABLE_TOKEN_API, {k: str(v) for k, v in body.items()})
    if not isinstance(app, AppState):
        return app
    record, errcode = sb.issue_stable_token(app, force_refresh=bool(body.get("force_refresh")))
    if errcode or record is None:  # (no record only with an errcode)
        return sb.error(errcode, "reach max api daily quota limit", app=app)
    return {"access_token": record.token, "expires_in": max(0, int(record.expires_at - sb.clock()))}


# --- menus (protocol §b) ---------------------------------------------------------------------
@api_route("POST", "/cgi-bin/menu/create")
def menu_create(sb: Sandbox, request: SandboxRequest, app: AppState):
    body = _body(request)
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


@api_route("GET", "/cgi-bin/menu/get")
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


@api_route("GET", "/cgi-bin/get_current_selfmenu_info")
def selfmenu_info(sb: Sandbox, request: SandboxRequest, app: AppState):
    with sb._lock:
        if app.menu is not None:
            buttons = menu_rules.selfmenu_shape(app.menu)
        else:
            buttons = copy.deepcopy(app.website_menu or [])
    return {"is_menu_open": 1 if app.menu_open else 0, "selfmenu_info": {"button": buttons}}


@api_route("GET", "/cgi-bin/menu/delete")
def menu_delete(sb: Sandbox, request: SandboxRequest, app: AppState):
    with sb._lock:
        app.menu = None
        app.menu_id = None
        app.website_menu = None
        app.conditional_menus = []
    return sb.ok()


PRIVACY_MATCH_FIELDS = ("sex", "country", "province", "city", "language")
MATCH_FIELDS = ("tag_id", "client_platform_type", "group_id", *PRIVACY_MATCH_FIELDS)


@api_route("POST", "/cgi-bin/menu/addconditional")
def menu_add_conditional(sb: Sandbox, request: SandboxRequest, app: AppState):
    """Conditional menu: needs a default menu (65303), a matchrule (65304) without the
    privacy fields WeChat now refuses (65320); answers {"menuid": "..."}."""
    body = _body(request)
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


@api_route("POST", "/cgi-bin/menu/delconditional")
def menu_del_conditional(sb: Sandbox, request: SandboxRequest, app: AppState):
    menu_id = str(_body(request).get("menuid", ""))
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


@api_route("POST", "/cgi-bin/menu/trymatch")
def menu_try_match(sb: Sandbox, request: SandboxRequest, app: AppState):
    """The menu a user would see: the newest conditional menu whose rule fits the user's
    profile (set with ``Sandbox.set_user`` or ``POST /sandbox/users/<appid>``), else the
    default menu. Answers ``{"button": [...]}`` (+ ``"menuid"`` for a conditional one)."""
    user_id = _body(request).get("user_id")
    if not isinstance(user_id, str) or not (_OPENID.match(user_id) or _KF_PREFIX.match(user_id)):
        return sb.error(65302, "no such user", app=app)
    with sb._lock:
        if app.menu is None:
            return sb.error(46003, "menu no exist", app=app)
        profile = app.users.get(user_id, {})
        for conditional in reversed(app.conditional_menus):  # matching is newest-first
            if rule_matches(conditional["matchrule"], profile):
                return {"button": copy.deepcopy(conditional["button"]), "menuid": conditional["menuid"]}
        return {"button": copy.deepcopy(app.menu)}


@api_route("POST", "/cgi-bin/clear_quota")
def clear_quota(sb: Sandbox, request: SandboxRequest, app: AppState):
    """Reset today's call counts of the account; 10 times a month, then 48006."""
    if _body(request).get("appid") != app.appid:
        return sb.error(40013, "invalid appid", app=app)
    now = sb.clock()
    month = beijing_day(now)[:7]
    with sb._lock:
        if app.quota_clears.get(month, 0) >= QUOTA_CLEARS_PER_MONTH:
            return sb.error(48006, "forbid to clear quota because of reaching the limit", app=app)
        app.quota_clears[month] = app.quota_clears.get(month, 0) + 1
        app.calls_by_day.pop(beijing_day(now), None)
    return sb.ok()


# --- customer service (protocol §c) -------------------------------------------------------------
def _kf_guard(sb: Sandbox, request: SandboxRequest, api: str):
    app = _guard(sb, request, api)
    if isinstance(app, AppState) and not app.kf_enabled:
        return sb.error(
            65400,
            "API unavailable, please enable new custom service, or wait for a while if you have enabled",
            app=app,
        )
    return app


def _check_kf_account(app: AppState, kf_account) -> bool:
    if not isinstance(kf_account, str) or len(kf_account) > 30 or "@" not in kf_account:
        return False
    prefix, _, suffix = kf_account.rpartition("@")
    return bool(_KF_PREFIX.match(prefix)) and bool(app.wechat_id) and suffix == app.wechat_id


def _kf_named(app: AppState, body: dict) -> dict | None:
    """The customer-service account the body's ``kf_account`` names, when the account has it."""
    name = body.get("kf_account")
    return app.kf_accounts.get(name) if isinstance(name, str) else None


def _check_nickname(nickname) -> bool:
    return isinstance(nickname, str) and len(nickname.strip()) > 0 and len(nickname) <= 16


@api_route("POST", "/customservice/kfaccount/add", kf=True)
def kf_add(sb: Sandbox, request: SandboxRequest, app: AppState):
    body = _body(request)
    kf_account, nickname = body.get("kf_account"), body.get("nickname")
    if not isinstance(kf_account, str) or not _check_kf_account(app, kf_account):
        return sb.error(65404, "invalid kf_account", app=app)
    if not _check_nickname(nickname):
        return sb.error(65403, "invalid nickname", app=app)
    with sb._lock:
        if kf_account in app.kf_accounts:
            return sb.error(65406, "kf_account exsited", app=app)
        if len(app.kf_accounts) >= MAX_KF_ACCOUNTS:
            return sb.error(65405, "account number limit", app=app)
        app.kf_accounts[kf_account] = {
            "kf_account": kf_account,
            "kf_nick": nickname,
            "kf_id": app.kf_next_id,
            "kf_headimgurl": "",
            "_online": 0,
        }
        app.kf_next_id += 1
    return sb.ok()


@api_route("POST", "/customservice/kfaccount/update", kf=True)
def kf_update(sb: Sandbox, request: SandboxRequest, app: AppState):
    body = _body(request)
    kf = _kf_named(app, body)
    if kf is None:
        return sb.error(65401, "invalid custom service account", app=app)
    if not _check_nickname(body.get("nickname")):
        return sb.error(65403, "invalid nickname", app=app)
    with sb._lock:
        kf["kf_nick"] = body["nickname"]
    return sb.ok()


@api_route(("GET", "POST"), "/customservice/kfaccount/del", kf=True)
def kf_delete(sb: Sandbox, request: SandboxRequest, app: AppState):
    """Current docs: POST JSON; legacy docs and wechatpy: GET ?kf_account= — both accepted."""
    kf_account = request.query.get("kf_account")
    if not kf_account and request.method == "POST":
        kf_account = _body(request).get("kf_account")
    with sb._lock:
        if app.kf_accounts.pop(kf_account or "", None) is None:
            return sb.error(65401, "invalid custom service account", app=app)
        app.kf_avatars.pop(kf_account or "", None)
        for openid in [o for o, s in app.sessions.items() if s["kf_account"] == kf_account]:
            del app.sessions[openid]
    return sb.ok()


@api_route("POST", "/customservice/kfaccount/uploadheadimg", kf=True)
def kf_upload_avatar(sb: Sandbox, request: SandboxRequest, app: AppState):
    kf = app.kf_accounts.get(request.query.get("kf_account", ""))
    if kf is None:
        return sb.error(65401, "invalid custom service account", app=app)
    media = request.files().get("media")
    if media is None:
        return sb.error(40005, "invalid file type (the file field must be named media)", app=app)
    filename, data = media
    if not data or len(data) > 5 * 1024 * 1024:
        return sb.error(40009, "invalid image size", app=app)
    if not (data.startswith(b"\xff\xd8") or filename.lower().endswith((".jpg", ".jpeg"))):
        return sb.error(40005, "invalid file type", app=app)
    with sb._lock:
        app.kf_avatars[kf["kf_account"]] = data
        kf["kf_headimgurl"] = f"{sb.base_url}/sandbox/kf_avatar/{app.appid}/{kf['kf_id']}"
    return sb.ok()


@api_route("POST", "/customservice/kfaccount/inviteworker", kf=True)
def kf_invite(sb: Sandbox, request: SandboxRequest, app: AppState):
    body = _body(request)
    kf = _kf_named(app, body)
    if kf is None:
        return sb.error(65401, "invalid custom service account", app=app)
    invite_wx = body.get("invite_wx")
    if not isinstance(invite_wx, str) or not re.match(r"^[A-Za-z][A-Za-z0-9_-]{5,19}\Z", invite_wx):
        return sb.error(65409, "invalid wechat id", app=app)
    if kf.get("kf_wx"):
        return sb.error(65412, "kf_account has been bound", app=app)
    if kf.get("invite_status") == "waiting":
        return sb.error(65411, "there is a invitation waiting for response", app=app)
    with sb._lock:
        kf.update(
            invite_wx=invite_wx, invite_expire_time=int(sb.clock()) + 7 * 86400, invite_status="waiting"
        )
    return sb.ok()


@api_route("GET", "/cgi-bin/customservice/getkflist", kf=True)
def kf_list(sb: Sandbox, request: SandboxRequest, app: AppState):
    with sb._lock:
        items = [{k: v for k, v in kf.items() if not k.startswith("_")} for kf in app.kf_accounts.values()]
    return {"kf_list": items}


@api_route("GET", "/cgi-bin/customservice/getonlinekflist", kf=True)
def kf_online_list(sb: Sandbox, request: SandboxRequest, app: AppState):
    with sb._lock:
        online = [
            {
                "kf_account": kf["kf_account"],
                "status": kf["_online"],
                "kf_id": kf["kf_id"],
                "accepted_case": sum(1 for s in app.sessions.values() if s["kf_account"] == kf["kf_account"]),
            }
            for kf in app.kf_accounts.values()
            if kf.get("_online")
        ]
    return {"kf_online_list": online}


def _session_args(sb: Sandbox, app: AppState, body: dict):
    kf = _kf_named(app, body)
    if kf is None:
        return sb.error(65401, "invalid custom service account", app=app)
    openid = body.get("openid")
    if not isinstance(openid, str) or not _OPENID.match(openid):
        return sb.error(40003, "invalid openid", app=app)
    return kf, openid


@api_route("POST", "/customservice/kfsession/create", kf=True)
def kf_session_create(sb: Sandbox, request: SandboxRequest, app: AppState):
    found = _session_args(sb, app, _body(request))
    if isinstance(found, SandboxResponse):
        return found
    kf, openid = found
    if not kf.get("kf_wx"):
        return sb.error(65402, "the custom service account has not been bound", app=app)
    if not kf.get("_online"):
        return sb.error(65415, "the worker is not online", app=app)
    with sb._lock:
        current = app.sessions.get(openid)
        if current and current["kf_account"] != kf["kf_account"]:
            return sb.error(65414, "the user is being served by other worker", app=app)
        if not current:
            app.sessions[openid] = {"kf_account": kf["kf_account"], "createtime": int(sb.clock())}
        app.wait_cases = [c for c in app.wait_cases if c["openid"] != openid]
    return sb.ok()


@api_route("POST", "/customservice/kfsession/close", kf=True)
def kf_session_close(sb: Sandbox, request: SandboxRequest, app: AppState):
    found = _session_args(sb, app, _body(request))
    if isinstance(found, SandboxResponse):
        return found
    kf, openid = found
    with sb._lock:
        current = app.sessions.get(openid)
        if not current or current["kf_account"] != kf["kf_account"]:
            return sb.error(65413, "the user has no session", app=app)
        del app.sessions[openid]
    return sb.ok()


@api_route("GET", "/customservice/kfsession/getsession", kf=True)
def kf_session_get(sb: Sandbox, request: SandboxRequest, app: AppState):
    openid = request.query.get("openid", "")
    if not _OPENID.match(openid):
        return sb.error(40003, "invalid openid", app=app)
    with sb._lock:
        session = app.sessions.get(openid)
    if session is None:
        return {"createtime": 0, "kf_account": ""}
    return dict(session)


@api_route("GET", "/customservice/kfsession/getsessionlist", kf=True)
def kf_session_list(sb: Sandbox, request: SandboxRequest, app: AppState):
    kf_account = request.query.get("kf_account", "")
    if kf_account not in app.kf_accounts:
        return sb.error(65401, "invalid custom service account", app=app)
    with sb._lock:
        sessions = [
            {"createtime": s["createtime"], "openid": openid}
            for openid, s in app.sessions.items()
            if s["kf_account"] == kf_account
        ]
    return {"sessionlist": sessions}


@api_route("GET", "/customservice/kfsession/getwaitcase", kf=True)
def kf_wait_cases(sb: Sandbox, request: SandboxRequest, app: AppState):
    with sb._lock:
        cases = list(app.wait_cases)
    return {"count": len(cases), "waitcaselist": cases[:100]}


# --- temporary media (cgi-bin/media/upload) -------------------------------------------------------
MEDIA_LIMITS = {
    "image": 10 * 1024 * 1024,
    "voice": 2 * 1024 * 1024,
    "thumb": 64 * 1024,
    "video": 10 * 1024 * 1024,
}
IMAGE_MAGIC = (b"\xff\xd8", b"\x89PNG", b"GIF8", b"BM")


@api_route("POST", "/cgi-bin/media/upload")
def media_upload(sb: Sandbox, request: SandboxRequest, app: AppState):
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


# --- customer-service messages ---------------------------------------------------------------------
@api_route("POST", "/cgi-bin/message/custom/send")
def message_custom_send(sb: Sandbox, request: SandboxRequest, app: AppState):
    """45015 outside the reply window (48 h after a message, 1 min after an event);
    45047 past the window's message count (5 / 3)."""
    body = _body(request)
    openid = body.get("touser")
    if not isinstance(openid, str) or not _OPENID.match(openid):
        return sb.error(40003, "invalid openid", app=app)
    msgtype = body.get("msgtype")
    if msgtype not in MESSAGE_TYPES or not isinstance(body.get(msgtype), dict):
        return sb.error(40008, "invalid message type", app=app)
    if msgtype == "text" and not str(body["text"].get("content") or "").strip():
        return sb.error(44004, "empty content", app=app)
    if msgtype == "image" and str(body["image"].get("media_id") or "") not in app.media:
        return sb.error(40007, "invalid media_id", app=app)
    kf_account = (body.get("customservice") or {}).get("kf_account")
    if kf_account and kf_account not in app.kf_accounts:
        return sb.error(65401, "invalid custom service account", app=app)
    now = sb.clock()
    with sb._lock:
        if sb.enforce_reply_window:
            seen = app.interactions.get(openid)
            seconds, limit = REPLY_WINDOWS[seen["kind"] if seen else "message"]
            if seen is None or now - seen["at"] > seconds:
                return sb.error(45015, "response out of time limit or subscription is canceled", app=app)
            if seen["used"] >= limit:
                return sb.error(45047, "out of response count limit", app=app)
            seen["used"] += 1
        app.sent_messages.append(
            {
                "touser": openid,
                "msgtype": msgtype,
                msgtype: body[msgtype],
                "kf_account": kf_account or "",
                "at": now,
            }
        )
    return sb.ok()


@api_route("POST", "/cgi-bin/message/custom/typing")
def message_custom_typing(sb: Sandbox, request: SandboxRequest, app: AppState):
    """ "Typing…" indicator: same OpenID and window rules as custom/send, no message count."""
    body = _body(request)
    openid = body.get("touser")
    if not isinstance(openid, str) or not _OPENID.match(openid):
        return sb.error(40003, "invalid openid", app=app)
    if body.get("command") not in ("Typing", "CancelTyping"):
        return sb.error(40097, "invalid args", app=app)
    if sb.enforce_reply_window:
        seen = app.interactions.get(openid)
        seconds, _limit = REPLY_WINDOWS[seen["kind"] if seen else "message"]
        if seen is None or sb.clock() - seen["at"] > seconds:
            return sb.error(45015, "response out of time limit or subscription is canceled", app=app)
    return sb.ok()


# --- the sandbox's own endpoints -------------------------------------------------------------------
@route("GET", "/sandbox/state")
def state_index(sb: Sandbox, request: SandboxRequest):
    return {
        "appids": sb.appids,
        "token_ttl": sb.token_ttl,
        "overlap_seconds": sb.overlap_seconds,
        "fail_rate": sb.fail_rate,
        "latency_ms": sb.latency_ms,
    }


@route("GET", "/sandbox/state/<appid>")
def state(sb: Sandbox, request: SandboxRequest, appid: str):
    if sb.app(appid) is None:
        return SandboxResponse(status=404, body=b'{"errcode":40013,"errmsg":"invalid appid"}')
    return sb.state(appid)


@route("POST", "/sandbox/users/<appid>")
def set_user(sb: Sandbox, request: SandboxRequest, appid: str):
    """Give a simulated user a profile for menu/trymatch:
    ``{"openid", "tag_ids": [2], "client_platform_type": "2", ...}``."""
    if sb.app(appid) is None:
        return SandboxResponse(status=404, body=b'{"errcode":40013,"errmsg":"invalid appid"}')
    body = request.json()
    openid = body.pop("openid", None)
    if not isinstance(openid, str) or not _OPENID.match(openid):
        return sb.error(40003, "invalid openid")
    sb.set_user(appid, openid, **{k: v for k, v in body.items() if k == "tag_ids" or k in MATCH_FIELDS})
    return sb.ok()


@route("POST", "/sandbox/expire/<appid>")
def expire(sb: Sandbox, request: SandboxRequest, appid: str):
    """Make the account's tokens expire now: the next call with them gets 42001."""
    if sb.app(appid) is None:
        return SandboxResponse(status=404, body=b'{"errcode":40013,"errmsg":"invalid appid"}')
    source = request.query.get("source") or None
    return {"errcode": 0, "expired": sb.expire_tokens(appid, source)}


@route("POST", "/sandbox/faults")
def faults(sb: Sandbox, request: SandboxRequest):
    """Body {"api": "/cgi-bin/menu/create"|"*", "errcode": -1|"drop"|"http502", "times": 1,
    "appid": null, "delay_ms": 0}; or {"clear": true}; or {"fail_rate": .., "latency_ms": ..}."""
    body = _body(request)
    if body.get("clear"):
        sb.clear_faults()
    if "fail_rate" in body:
        sb.fail_rate = float(body["fail_rate"])
    if "latency_ms" in body:
        sb.latency_ms = int(body["latency_ms"])
    if "errcode" in body or "delay_ms" in body:
        fault = Fault(
            api=body.get("api", "*"),
            errcode=body.get("errcode", 0),
            times=int(body.get("times", 1)),
            appid=body.get("appid"),
            delay_ms=int(body.get("delay_ms", 0)),
            errmsg=body.get("errmsg"),
        )
        sb.force_error(
            fault.api,
            fault.errcode,
            times=fault.times,
            appid=fault.appid,
            delay_ms=fault.delay_ms,
            errmsg=fault.errmsg,
        )
    return {"errcode": 0, "errmsg": "ok"}


@route("GET", "/sandbox/check_token")
def check_token(sb: Sandbox, request: SandboxRequest):
    """Is this token usable right now? Not counted as an API call (used by the benchmark)."""
    record, errcode = sb.check_token(request.query.get("access_token"))
    return {
        "errcode": errcode,
        "appid": record.appid if record else None,
        "fingerprint": fingerprint(record.token) if record else None,
    }


@route("POST", "/sandbox/kf/<appid>/accept")
def kf_accept(sb: Sandbox, request: SandboxRequest, appid: str):
    """The invited WeChat user accepts the invitation: body {"kf_account", "wx"?}."""
    body = _body(request)
    try:
        sb.accept_kf_invite(appid, body.get("kf_account", ""), body.get("wx"))
    except KeyError:
        raise BadBody(65401, "invalid custom service account")
    return {"errcode": 0, "errmsg": "ok"}


@route("POST", "/sandbox/kf/<appid>/online")
def kf_online(sb: Sandbox, request: SandboxRequest, appid: str):
    """The agent goes on/offline: body {"kf_account", "online": true|false}."""
    body = _body(request)
    try:
        sb.set_kf_online(appid, body.get("kf_account", ""), bool(body.get("online", True)))
    except KeyError:
        raise BadBody(65401, "invalid custom service account")
    return {"errcode": 0, "errmsg": "ok"}


@route("GET", "/sandbox/kf_avatar/<appid>/<kf_id>")
def kf_avatar(sb: Sandbox, request: SandboxRequest, appid: str, kf_id: str):
    app = sb.app(appid)
    if app is not None:
        for kf in app.kf_accounts.values():
            if str(kf["kf_id"]) == kf_id and kf["kf_account"] in app.kf_avatars:
                return SandboxResponse(body=app.kf_avatars[kf["kf_account"]], content_type="image/jpeg")
    return SandboxResponse(status=404, body=b"not found", content_type="text/plain")
