"""Followers (protocol §h "Followers", "Blacklist"; facts in ``wechat/api/users.py``):
``user/get`` (10,000 a page), ``user/info``, ``user/info/batchget`` (≤ 100, else 40032),
``user/info/updateremark`` (≤ 30 bytes, else 40092 [?]), the blacklist calls (≤ 20, else
40032), and helpers that generate followers and play subscriptions:
``POST /sandbox/users/<appid>/generate`` ``{"count"}``, ``…/subscribe`` and ``…/unsubscribe``
``{"openid", "scene"?, "qr_scene_str"?}``.
"""

from __future__ import annotations

from wechat_sandbox.areas._audience import AREA, audience
from wechat_sandbox.core import AppState, Sandbox, state_section
from wechat_sandbox.endpoints import OPENID, api_route
from wechat_sandbox.http import BadBody, SandboxRequest, route

PAGE = 10_000
BATCHGET_MAX = 100
BLACKLIST_BATCH_MAX = 20
REMARK_MAX_BYTES = 30


@state_section(AREA)
def _state(app: AppState) -> dict:
    a = audience(app)
    return {
        "total": a.total(),
        "generated": a.generated,
        "remarks": {o: i["remark"] for o, i in a.info.items() if i.get("remark")},
        "user_tags": {o: list(i["tagid_list"]) for o, i in a.info.items() if i.get("tagid_list")},
        "blacklist": list(a.blacklist),
        "tags": {str(k): {"name": v, "count": a.tag_counts.get(k, 0)} for k, v in a.tags.items()},
        "qrcodes": len(a.qrcodes),
    }


@api_route("GET", "/cgi-bin/user/get", quota=500)
def user_get(sb: Sandbox, request: SandboxRequest, app: AppState):
    after = request.query.get("next_openid", "")
    with sb._lock:
        a = audience(app)
        if after and a.position(after) is None:
            return sb.error(40003, "invalid openid", app=app)
        openids = a.page(after, PAGE)
        total = a.total()
    answer: dict = {"total": total, "count": len(openids), "next_openid": openids[-1] if openids else ""}
    if openids:
        answer["data"] = {"openid": openids}
    return sb.json(answer)


@api_route("GET", "/cgi-bin/user/info", quota=5_000_000)
def user_info(sb: Sandbox, request: SandboxRequest, app: AppState):
    openid = request.query.get("openid", "")
    with sb._lock:
        a = audience(app)
        if a.position(openid) is None:
            return sb.error(40003, "invalid openid", app=app)
        return sb.json(a.user_info(openid))


@api_route("POST", "/cgi-bin/user/info/batchget", quota=5_000_000)
def user_batchget(sb: Sandbox, request: SandboxRequest, app: AppState):
    users = request.json().get("user_list")
    if not isinstance(users, list) or not users or len(users) > BATCHGET_MAX:
        return sb.error(40032, "invalid openid list size", app=app)
    with sb._lock:
        a = audience(app)
        answers = []
        for user in users:
            openid = user.get("openid") if isinstance(user, dict) else None
            if not isinstance(openid, str) or a.position(openid) is None:
                return sb.error(40003, "invalid openid", app=app)
            answers.append(a.user_info(openid))
    return sb.json({"user_info_list": answers})


@api_route("POST", "/cgi-bin/user/info/updateremark", quota=10_000)
def update_remark(sb: Sandbox, request: SandboxRequest, app: AppState):
    body = request.json()
    openid, remark = body.get("openid"), body.get("remark")
    if not isinstance(remark, str) or len(remark.encode("utf-8")) > REMARK_MAX_BYTES:
        return sb.error(40092, "invalid remark length", app=app)
    with sb._lock:
        a = audience(app)
        if not isinstance(openid, str) or not a.is_follower(openid):
            return sb.error(40003, "invalid openid", app=app)
        a.info.setdefault(openid, {})["remark"] = remark
    return sb.ok()


@api_route("POST", "/cgi-bin/tags/members/getblacklist")
def get_blacklist(sb: Sandbox, request: SandboxRequest, app: AppState):
    begin = request.json().get("begin_openid") or ""
    with sb._lock:
        listed = list(audience(app).blacklist)
    start = listed.index(begin) + 1 if begin in listed else 0
    page = listed[start : start + PAGE]
    answer: dict = {"total": len(listed), "count": len(page), "next_openid": page[-1] if page else ""}
    if page:
        answer["data"] = {"openid": page}
    return sb.json(answer)


def _openid_list(sb: Sandbox, app: AppState, body: dict, limit: int):
    openids = body.get("openid_list")
    if not isinstance(openids, list) or not openids or len(openids) > limit:
        return sb.error(40032, "invalid openid list size", app=app)
    a = audience(app)
    if any(not isinstance(o, str) or not a.is_follower(o) for o in openids):
        return sb.error(40003, "invalid openid", app=app)
    return openids


@api_route("POST", "/cgi-bin/tags/members/batchblacklist")
def batch_blacklist(sb: Sandbox, request: SandboxRequest, app: AppState):
    with sb._lock:
        openids = _openid_list(sb, app, request.json(), BLACKLIST_BATCH_MAX)
        if not isinstance(openids, list):
            return openids
        for openid in openids:
            audience(app).blacklist[openid] = None
    return sb.ok()


@api_route("POST", "/cgi-bin/tags/members/batchunblacklist")
def batch_unblacklist(sb: Sandbox, request: SandboxRequest, app: AppState):
    with sb._lock:
        openids = _openid_list(sb, app, request.json(), BLACKLIST_BATCH_MAX)
        if not isinstance(openids, list):
            return openids
        for openid in openids:
            audience(app).blacklist.pop(openid, None)
    return sb.ok()


# --- helpers for tests and benchmarks -------------------------------------------------------


def _app(sb: Sandbox, appid: str) -> AppState:
    app = sb.app(appid)
    if app is None:
        raise BadBody(40013, "invalid appid")
    return app


@route("POST", "/sandbox/users/<appid>/generate")
def generate(sb: Sandbox, request: SandboxRequest, appid: str):
    """Make the account's generated followers number ``count`` (OpenIDs made on demand)."""
    count = request.json().get("count")
    if not isinstance(count, int) or not 0 <= count <= 10_000_000:
        raise BadBody(40097, "invalid count")
    app = _app(sb, appid)
    with sb._lock:
        audience(app).generated = count
    return {"errcode": 0, "errmsg": "ok"}


@route("POST", "/sandbox/users/<appid>/subscribe")
def subscribe(sb: Sandbox, request: SandboxRequest, appid: str):
    body = request.json()
    openid = body.get("openid")
    if not isinstance(openid, str) or not OPENID.match(openid):
        raise BadBody(40003, "invalid openid")
    app = _app(sb, appid)
    with sb._lock:
        audience(app).subscribe(
            openid,
            at=int(sb.clock()),
            scene=str(body.get("scene") or "ADD_SCENE_QR_CODE"),
            qr_scene_str=str(body.get("qr_scene_str") or ""),
        )
    return {"errcode": 0, "errmsg": "ok"}


@route("POST", "/sandbox/users/<appid>/unsubscribe")
def unsubscribe(sb: Sandbox, request: SandboxRequest, appid: str):
    openid = request.json().get("openid")
    app = _app(sb, appid)
    with sb._lock:
        audience(app).unsubscribe(str(openid))
    return {"errcode": 0, "errmsg": "ok"}
