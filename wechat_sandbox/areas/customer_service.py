"""Customer service (protocol §c): agent accounts and sessions (65400-series errors),
and the sandbox's stand-ins for what happens on a phone: an invitation accepted, an agent
going online (``/sandbox/kf/<appid>/...``), the uploaded avatars (``/sandbox/kf_avatar/...``).
"""

from __future__ import annotations

import re

from wechat_sandbox.core import AppState, Sandbox
from wechat_sandbox.endpoints import KF_PREFIX, OPENID, api_route
from wechat_sandbox.http import BadBody, SandboxRequest, SandboxResponse, route

MAX_KF_ACCOUNTS = 100


def kf_enabled(sb: Sandbox, app: AppState) -> SandboxResponse | None:
    """65400 unless the account has the customer-service plug-in."""
    if not app.kf_enabled:
        return sb.error(
            65400,
            "API unavailable, please enable new custom service, or wait for a while if you have enabled",
            app=app,
        )
    return None


def _check_kf_account(app: AppState, kf_account) -> bool:
    if not isinstance(kf_account, str) or len(kf_account) > 30 or "@" not in kf_account:
        return False
    prefix, _, suffix = kf_account.rpartition("@")
    return bool(KF_PREFIX.match(prefix)) and bool(app.wechat_id) and suffix == app.wechat_id


def _kf_named(app: AppState, body: dict) -> dict | None:
    """The customer-service account the body's ``kf_account`` names, when the account has it."""
    name = body.get("kf_account")
    return app.kf_accounts.get(name) if isinstance(name, str) else None


def _check_nickname(nickname) -> bool:
    return isinstance(nickname, str) and len(nickname.strip()) > 0 and len(nickname) <= 16


@api_route("POST", "/customservice/kfaccount/add", check=kf_enabled)
def kf_add(sb: Sandbox, request: SandboxRequest, app: AppState):
    body = request.json()
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


@api_route("POST", "/customservice/kfaccount/update", check=kf_enabled)
def kf_update(sb: Sandbox, request: SandboxRequest, app: AppState):
    body = request.json()
    kf = _kf_named(app, body)
    if kf is None:
        return sb.error(65401, "invalid custom service account", app=app)
    if not _check_nickname(body.get("nickname")):
        return sb.error(65403, "invalid nickname", app=app)
    with sb._lock:
        kf["kf_nick"] = body["nickname"]
    return sb.ok()


@api_route(("GET", "POST"), "/customservice/kfaccount/del", check=kf_enabled)
def kf_delete(sb: Sandbox, request: SandboxRequest, app: AppState):
    """Current docs: POST JSON; legacy docs and wechatpy: GET ?kf_account= — both accepted."""
    kf_account = request.query.get("kf_account")
    if not kf_account and request.method == "POST":
        kf_account = request.json().get("kf_account")
    with sb._lock:
        if app.kf_accounts.pop(kf_account or "", None) is None:
            return sb.error(65401, "invalid custom service account", app=app)
        app.kf_avatars.pop(kf_account or "", None)
        for openid in [o for o, s in app.sessions.items() if s["kf_account"] == kf_account]:
            del app.sessions[openid]
    return sb.ok()


@api_route("POST", "/customservice/kfaccount/uploadheadimg", check=kf_enabled)
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


@api_route("POST", "/customservice/kfaccount/inviteworker", check=kf_enabled)
def kf_invite(sb: Sandbox, request: SandboxRequest, app: AppState):
    body = request.json()
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


@api_route("GET", "/cgi-bin/customservice/getkflist", check=kf_enabled)
def kf_list(sb: Sandbox, request: SandboxRequest, app: AppState):
    with sb._lock:
        items = [{k: v for k, v in kf.items() if not k.startswith("_")} for kf in app.kf_accounts.values()]
    return {"kf_list": items}


@api_route("GET", "/cgi-bin/customservice/getonlinekflist", check=kf_enabled)
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
    if not isinstance(openid, str) or not OPENID.match(openid):
        return sb.error(40003, "invalid openid", app=app)
    return kf, openid


@api_route("POST", "/customservice/kfsession/create", check=kf_enabled)
def kf_session_create(sb: Sandbox, request: SandboxRequest, app: AppState):
    found = _session_args(sb, app, request.json())
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


@api_route("POST", "/customservice/kfsession/close", check=kf_enabled)
def kf_session_close(sb: Sandbox, request: SandboxRequest, app: AppState):
    found = _session_args(sb, app, request.json())
    if isinstance(found, SandboxResponse):
        return found
    kf, openid = found
    with sb._lock:
        current = app.sessions.get(openid)
        if not current or current["kf_account"] != kf["kf_account"]:
            return sb.error(65413, "the user has no session", app=app)
        del app.sessions[openid]
    return sb.ok()


@api_route("GET", "/customservice/kfsession/getsession", check=kf_enabled)
def kf_session_get(sb: Sandbox, request: SandboxRequest, app: AppState):
    openid = request.query.get("openid", "")
    if not OPENID.match(openid):
        return sb.error(40003, "invalid openid", app=app)
    with sb._lock:
        session = app.sessions.get(openid)
    if session is None:
        return {"createtime": 0, "kf_account": ""}
    return dict(session)


@api_route("GET", "/customservice/kfsession/getsessionlist", check=kf_enabled)
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


@api_route("GET", "/customservice/kfsession/getwaitcase", check=kf_enabled)
def kf_wait_cases(sb: Sandbox, request: SandboxRequest, app: AppState):
    with sb._lock:
        cases = list(app.wait_cases)
    return {"count": len(cases), "waitcaselist": cases[:100]}


@route("POST", "/sandbox/kf/<appid>/accept")
def kf_accept(sb: Sandbox, request: SandboxRequest, appid: str):
    """The invited WeChat user accepts the invitation: body {"kf_account", "wx"?}."""
    body = request.json()
    try:
        sb.accept_kf_invite(appid, body.get("kf_account", ""), body.get("wx"))
    except KeyError:
        raise BadBody(65401, "invalid custom service account")
    return {"errcode": 0, "errmsg": "ok"}


@route("POST", "/sandbox/kf/<appid>/online")
def kf_online(sb: Sandbox, request: SandboxRequest, appid: str):
    """The agent goes on/offline: body {"kf_account", "online": true|false}."""
    body = request.json()
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
