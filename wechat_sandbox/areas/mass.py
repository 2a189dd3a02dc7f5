"""Mass sends (群发, protocol §h; the client's facts in ``wechat/api/mass.py``).

Per account: the sends (``msg_id`` -> what was sent, to whom, its status and totals), the
clientmsgids of the last 24 hours (a repeat → 45065, WeChat's guard against a repeated push),
the mass messages each follower received this Beijing month (a service account's follower gets
at most 4: a send to all past that → 45028, a tag's members past it are filtered out), the
previews, and the speed.

Media: an ``mpnews`` send takes a draft's ``media_id`` and ``image``/``voice`` a material's. The
sandbox knows a media_id when it was registered with the helper below, uploaded through the
media area (``AppState.media``), or when a function in ``MEDIA_LOOKUPS`` says so — the hook the
drafts and materials areas add themselves to (``MEDIA_LOOKUPS.append(fn)``, ``fn(app, msgtype,
media_id) -> bool``, called under the lock), so this area's check stays loose until they land.
An unknown media_id → 40007.

Helpers for tests and the bench:

- ``POST /sandbox/mass/<appid>/media`` ``{"media_ids": [...]}`` registers media_ids;
- ``POST /sandbox/mass/<appid>/finish`` ``{"msg_ids": [...]|omitted, "status": optional,
  "error_count": optional}`` finishes each unfinished send and pushes ``MASSSENDJOBFINISH`` to the
  account's callback, like WeChat; answers ``{"pushed": n, "failed": n}``;
- ``POST /sandbox/mass/<appid>/month`` ``{"all_sends": n}`` sets how many sends to all the
  account made this month (to reach the monthly limit without sending four times).
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable
from typing import Any

from wechat.api.mass import MONTHLY_LIMIT_PER_FOLLOWER, MSGTYPES
from wechat.replies import cdata
from wechat_sandbox.areas._audience import audience
from wechat_sandbox.core import AppState, Sandbox, beijing_day, state_section
from wechat_sandbox.endpoints import OPENID, api_route
from wechat_sandbox.http import SandboxRequest, SandboxResponse, json_response, route
from wechat_sandbox.simulate import push_to_callback

AREA = "mass"
CLIENTMSGID_WINDOW = 24 * 3600
WXNAME = re.compile(r"^[A-Za-z][-_A-Za-z0-9]{5,19}\Z")
#: ``fn(app, msgtype, media_id) -> bool``: other areas tell whether they know a media_id.
MEDIA_LOOKUPS: list[Callable[[AppState, str, str], bool]] = []
_msg_ids = itertools.count(1_000_000_001)
_data_ids = itertools.count(2_000_000_001)
_id_lock = threading.Lock()


def _state(app: AppState) -> dict[str, Any]:
    return app.area_state(
        AREA,
        lambda: {
            "sends": {},  # msg_id -> send
            "clientmsgids": {},  # clientmsgid -> (msg_id, at)
            "all_sends": {},  # "YYYY-MM" -> sends to all this month
            "received": {},  # "YYYY-MM" -> {openid: sends by tag or list}
            "media": set(),
            "previews": [],
            "speed": 0,
        },
    )


@state_section(AREA)
def _describe(app: AppState) -> dict[str, Any]:
    st = _state(app)
    return {
        "sends": [dict(s, openids=list(s["openids"])[:20]) for s in st["sends"].values()],
        "previews": list(st["previews"][-20:]),
        "all_sends": dict(st["all_sends"]),
        "speed": st["speed"],
    }


def _month(sb: Sandbox) -> str:
    return beijing_day(sb.clock())[:7]


def _known_media(app: AppState, msgtype: str, media_id: str) -> bool:
    if not media_id:
        return False
    if media_id in _state(app)["media"] or media_id in app.media:
        return True
    return any(lookup(app, msgtype, media_id) for lookup in MEDIA_LOOKUPS)


def _content(sb: Sandbox, app: AppState, body: dict[str, Any]) -> SandboxResponse | dict[str, Any]:
    """The message part checked: 40008 a msgtype not sent here, 40007 unknown media, 44004 empty text."""
    msgtype = body.get("msgtype")
    if msgtype not in MSGTYPES:
        return sb.error(40008, "invalid message type", app=app)
    inner = body.get(msgtype)
    if not isinstance(inner, dict):
        return sb.error(47001, "data format error", app=app)
    if msgtype == "text":
        text = inner.get("content")
        if not isinstance(text, str) or not text.strip():
            return sb.error(44004, "empty content", app=app)
        return {"msgtype": msgtype, "text": text, "media_id": ""}
    media_id = str(inner.get("media_id") or "")
    with sb._lock:
        known = _known_media(app, msgtype, media_id)
    if not known:
        return sb.error(40007, "invalid media_id", app=app)
    return {"msgtype": msgtype, "text": "", "media_id": media_id}


def _clientmsgid(sb: Sandbox, app: AppState, body: dict[str, Any]) -> SandboxResponse | str:
    value = body.get("clientmsgid") or ""
    if not isinstance(value, str):
        return sb.error(47001, "data format error", app=app)
    if len(value.encode()) > 64:
        return sb.error(45067, "clientmsgid size out of limit", app=app)
    if value:
        with sb._lock:
            seen = _state(app)["clientmsgids"].get(value)
        if seen is not None and sb.clock() - seen[1] < CLIENTMSGID_WINDOW:
            return sb.error(45065, "clientmsgid exist", app=app)
    return value


def _record(
    sb: Sandbox,
    app: AppState,
    content: dict[str, Any],
    *,
    clientmsgid: str,
    tag_id: int | None,
    is_to_all: bool,
    openids: list[str],
    total: int,
    filtered: int,
) -> dict[str, Any]:
    with _id_lock:
        msg_id = next(_msg_ids)
        data_id = next(_data_ids) if content["msgtype"] == "mpnews" else None
    now = sb.clock()
    st = _state(app)
    st["sends"][msg_id] = {
        "msg_id": msg_id,
        "msg_data_id": data_id,
        **content,
        "is_to_all": is_to_all,
        "tag_id": tag_id,
        "openids": openids,
        "clientmsgid": clientmsgid,
        "at": now,
        "status": "SENDING",
        "total": total,
        "filter": filtered,
        "finished": False,
    }
    if clientmsgid:
        st["clientmsgids"][clientmsgid] = (msg_id, now)
    answer: dict[str, Any] = {"errcode": 0, "errmsg": "send job submission success", "msg_id": msg_id}
    if data_id is not None:
        answer["msg_data_id"] = data_id
    return answer


def _received(st: dict[str, Any], month: str, openid: str) -> int:
    return int(st["all_sends"].get(month, 0)) + int(st["received"].get(month, {}).get(openid, 0))


def _to_some(sb: Sandbox, app: AppState, members: list[str]) -> tuple[list[str], int]:
    """Members still under this month's limit (they are counted as receiving one more)."""
    st = _state(app)
    month = _month(sb)
    keep = [o for o in members if _received(st, month, o) < MONTHLY_LIMIT_PER_FOLLOWER]
    counts = st["received"].setdefault(month, {})
    for openid in keep:
        counts[openid] = counts.get(openid, 0) + 1
    return keep, len(members)


@api_route("POST", "/cgi-bin/message/mass/sendall", quota=100)
def sendall(sb: Sandbox, request: SandboxRequest, app: AppState) -> Any:
    """To all followers (``is_to_all``) or a tag's: 45159 an unknown tag, 45028 when the month's
    four sends are used up (to all) or no member of the tag is left under the limit."""
    body = request.json()
    content = _content(sb, app, body)
    if isinstance(content, SandboxResponse):
        return content
    clientmsgid = _clientmsgid(sb, app, body)
    if isinstance(clientmsgid, SandboxResponse):
        return clientmsgid
    filt = body.get("filter")
    if not isinstance(filt, dict):
        return sb.error(47001, "data format error", app=app)
    is_to_all = bool(filt.get("is_to_all"))
    with sb._lock:
        st = _state(app)
        followers = audience(app)
        month = _month(sb)
        if is_to_all:
            if int(st["all_sends"].get(month, 0)) >= MONTHLY_LIMIT_PER_FOLLOWER:
                return sb.error(45028, "has no masssend quota", app=app)
            st["all_sends"][month] = int(st["all_sends"].get(month, 0)) + 1
            total = followers.total()
            return _record(
                sb,
                app,
                content,
                clientmsgid=clientmsgid,
                tag_id=None,
                is_to_all=True,
                openids=[],
                total=total,
                filtered=total,
            )
        try:
            tag_id = int(filt.get("tag_id"))  # type: ignore[arg-type]  # refused below when not a number
        except (TypeError, ValueError):
            return sb.error(47001, "data format error", app=app)
        if tag_id not in followers.tags:
            return sb.error(45159, "invalid tag id", app=app)
        members = [
            o
            for o, info in followers.info.items()
            if tag_id in info.get("tagid_list", ()) and followers.is_follower(o)
        ]
        keep, total = _to_some(sb, app, members)
        if members and not keep:
            return sb.error(45028, "has no masssend quota", app=app)
        return _record(
            sb,
            app,
            content,
            clientmsgid=clientmsgid,
            tag_id=tag_id,
            is_to_all=False,
            openids=keep,
            total=total,
            filtered=len(keep),
        )


@api_route("POST", "/cgi-bin/message/mass/send", quota=100)
def send_to_list(sb: Sandbox, request: SandboxRequest, app: AppState) -> Any:
    """To a list of OpenIDs: fewer than 2 → 40130, a malformed OpenID → 40003."""
    body = request.json()
    touser = body.get("touser")
    if not isinstance(touser, list) or len(touser) < 2:
        return sb.error(40130, "invalid openid list size, at least two openid", app=app)
    if len(touser) > 10_000 or any(not isinstance(o, str) or not OPENID.match(o) for o in touser):
        return sb.error(40003, "invalid openid", app=app)
    content = _content(sb, app, body)
    if isinstance(content, SandboxResponse):
        return content
    clientmsgid = _clientmsgid(sb, app, body)
    if isinstance(clientmsgid, SandboxResponse):
        return clientmsgid
    with sb._lock:
        followers = audience(app)
        members = [o for o in dict.fromkeys(touser) if followers.is_follower(o)]
        keep, _total = _to_some(sb, app, members)
        if members and not keep:
            return sb.error(45028, "has no masssend quota", app=app)
        return _record(
            sb,
            app,
            content,
            clientmsgid=clientmsgid,
            tag_id=None,
            is_to_all=False,
            openids=keep,
            total=len(touser),
            filtered=len(keep),
        )


@api_route("POST", "/cgi-bin/message/mass/preview", quota=100)
def preview(sb: Sandbox, request: SandboxRequest, app: AppState) -> Any:
    """To one user: ``towxname`` (a WeChat ID; wins over touser) or ``touser`` (a follower's
    OpenID, else 40003). Not counted against the monthly limit."""
    body = request.json()
    content = _content(sb, app, body)
    if isinstance(content, SandboxResponse):
        return content
    towxname = body.get("towxname")
    touser = body.get("touser")
    if towxname:
        if not isinstance(towxname, str) or not WXNAME.match(towxname):
            return sb.error(40132, "invalid username", app=app)
    elif not isinstance(touser, str) or not OPENID.match(touser):
        return sb.error(40003, "invalid openid", app=app)
    with sb._lock:
        if not towxname and not audience(app).is_follower(str(touser)):
            return sb.error(40003, "invalid openid", app=app)
        with _id_lock:
            msg_id = next(_msg_ids)
        _state(app)["previews"].append(
            {"msg_id": msg_id, "towxname": towxname or "", "touser": "" if towxname else touser, **content}
        )
    return {"errcode": 0, "errmsg": "preview success", "msg_id": msg_id}


@api_route("POST", "/cgi-bin/message/mass/get")
def get_status(sb: Sandbox, request: SandboxRequest, app: AppState) -> Any:
    try:
        msg_id = int(request.json().get("msg_id"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return sb.error(47001, "data format error", app=app)
    with sb._lock:
        send = _state(app)["sends"].get(msg_id)
        if send is None:
            return sb.error(40007, "invalid msg_id", app=app)
        return {"msg_id": msg_id, "msg_status": send["status"]}


@api_route("POST", "/cgi-bin/message/mass/delete")
def delete(sb: Sandbox, request: SandboxRequest, app: AppState) -> Any:
    """Only a send that succeeded, only articles (mpnews): otherwise WeChat refuses."""
    body = request.json()
    try:
        msg_id = int(body.get("msg_id"))  # type: ignore[arg-type]
        article_idx = int(body.get("article_idx") or 0)
    except (TypeError, ValueError):
        return sb.error(47001, "data format error", app=app)
    with sb._lock:
        send = _state(app)["sends"].get(msg_id)
        if send is None:
            return sb.error(40007, "invalid msg_id", app=app)
        if send["msgtype"] != "mpnews":
            return sb.error(40008, "only mpnews and video can be deleted", app=app)
        if send["status"] != "SEND_SUCCESS":
            return sb.error(40007, "the message has not been sent successfully", app=app)
        if article_idx < 0:
            return sb.error(47001, "data format error", app=app)
        send["status"] = "DELETE"
        send["deleted_article_idx"] = article_idx
    return sb.ok()


@api_route("POST", "/cgi-bin/message/mass/speed/get")
def speed_get(sb: Sandbox, request: SandboxRequest, app: AppState) -> Any:
    with sb._lock:
        speed = int(_state(app)["speed"])
    return {"speed": speed, "realspeed": (80, 60, 45, 30, 10)[speed]}


@api_route("POST", "/cgi-bin/message/mass/speed/set")
def speed_set(sb: Sandbox, request: SandboxRequest, app: AppState) -> Any:
    speed = request.json().get("speed")
    if not isinstance(speed, int) or not 0 <= speed <= 4:
        return sb.error(40047, "invalid speed", app=app)
    with sb._lock:
        _state(app)["speed"] = speed
    return sb.ok()


# --- helpers for tests ----------------------------------------------------------------------
def _app_or_404(sb: Sandbox, appid: str) -> AppState | SandboxResponse:
    app = sb.app(appid)
    if app is None:
        return json_response({"errcode": 404, "errmsg": "unknown appid"}, status=404)
    return app


@route("POST", "/sandbox/mass/<appid>/media")
def register_media(sb: Sandbox, request: SandboxRequest, appid: str) -> Any:
    app = _app_or_404(sb, appid)
    if not isinstance(app, AppState):
        return app
    with sb._lock:
        _state(app)["media"].update(str(m) for m in request.json().get("media_ids") or [])
    return sb.ok()


@route("POST", "/sandbox/mass/<appid>/month")
def set_month(sb: Sandbox, request: SandboxRequest, appid: str) -> Any:
    app = _app_or_404(sb, appid)
    if not isinstance(app, AppState):
        return app
    with sb._lock:
        _state(app)["all_sends"][_month(sb)] = int(request.json().get("all_sends") or 0)
    return sb.ok()


def finish_xml(*, to_user: str, send: dict[str, Any], status: str, error_count: int, now: int) -> str:
    """The MASSSENDJOBFINISH push (§h)."""
    sent = max(0, int(send["filter"]) - error_count)
    return (
        f"<xml><ToUserName>{cdata(to_user)}</ToUserName><FromUserName>{cdata('o_mass_system')}</FromUserName>"
        f"<CreateTime>{now}</CreateTime><MsgType>{cdata('event')}</MsgType>"
        f"<Event>{cdata('MASSSENDJOBFINISH')}</Event><MsgID>{send['msg_id']}</MsgID>"
        f"<Status>{cdata(status)}</Status><TotalCount>{send['total']}</TotalCount>"
        f"<FilterCount>{send['filter']}</FilterCount><SentCount>{sent}</SentCount>"
        f"<ErrorCount>{error_count}</ErrorCount></xml>"
    )


@route("POST", "/sandbox/mass/<appid>/finish")
def finish(sb: Sandbox, request: SandboxRequest, appid: str) -> Any:
    """Finish unfinished sends and push MASSSENDJOBFINISH for each to the account's callback."""
    app = _app_or_404(sb, appid)
    if not isinstance(app, AppState):
        return app
    if not app.callback_url or not app.token:
        return json_response({"errcode": 400, "errmsg": "no callback URL or server token"}, status=400)
    body = request.json()
    wanted = body.get("msg_ids")
    status = str(body.get("status") or "send success")
    error_count = int(body.get("error_count") or 0)
    with sb._lock:
        pending = [
            s
            for s in _state(app)["sends"].values()
            if not s["finished"] and (wanted is None or s["msg_id"] in wanted)
        ]
        for send in pending:
            send["finished"] = True
            send["status"] = "SEND_SUCCESS" if status == "send success" else "SEND_FAIL"
    pushed = failed = 0
    for send in pending:
        now = int(sb.clock())
        xml = finish_xml(
            to_user=app.original_id or "gh_sandbox",
            send=send,
            status=status,
            error_count=error_count,
            now=now,
        )
        ok = push_to_callback(app, xml, now=now, openid="o_mass_system")
        pushed += ok
        failed += not ok
    return {"pushed": pushed, "failed": failed}
