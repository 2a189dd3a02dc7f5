"""Template messages (protocol §h; the client's facts in ``wechat/api/templates.py``).

Per account: the private templates (``template_id`` -> template), the industry, the messages
sent (``msgid`` -> touser, template, data, status), tags (``tag_id`` -> OpenIDs), and the
users who unsubscribed or blocked the account. WeChat's library is a small fixed set here
(``LIBRARY``). Values are checked with WeChat's per-kind rules (47003), shared with the
client (``templates.keyword_problem``).

Helpers for tests and the bench:

- ``POST /sandbox/templates/<appid>/tag`` ``{"tag_id": 100, "openids": [...]}`` (kept by the
  followers and tags area, which answers ``user/tag/get``);
- ``POST /sandbox/templates/<appid>/users`` ``{"unsubscribed": [...], "blocked": [...]}``;
- ``POST /sandbox/templates/<appid>/finish`` ``{"msgids": [...]|omitted, "status": …}``
  pushes ``TEMPLATESENDJOBFINISH`` for each message not yet finished (all of them when
  ``msgids`` is omitted) to the account's callback, like WeChat; a blocked user's message
  finishes as "failed:user block". Answers ``{"pushed": n, "failed": n}``.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

from wechat.api.templates import RETIRED_FIELDS, keyword_problem, keywords_of
from wechat.replies import cdata
from wechat_sandbox.areas._audience import audience
from wechat_sandbox.core import AppState, Sandbox, state_section
from wechat_sandbox.endpoints import OPENID, api_route
from wechat_sandbox.http import SandboxRequest, json_response, route
from wechat_sandbox.simulate import push_to_callback

AREA = "templates"
#: WeChat's library, as the sandbox knows it: template_id_short -> (title, content).
LIBRARY = {
    "OPENTM200000001": (
        "订单发货通知",
        "订单号{{character_string1.DATA}}\n商品{{thing2.DATA}}\n发货时间{{time3.DATA}}",
    ),
    "OPENTM200000002": ("预约提醒", "预约人{{name1.DATA}}\n项目{{thing2.DATA}}\n时间{{date3.DATA}}"),
    "OPENTM200000003": ("收款通知", "金额{{amount1.DATA}}\n状态{{phrase2.DATA}}"),
    # a category template: the caller picks keywords by name (keyword_name_list)
    "CATEGORY_0001": ("办理进度通知", ""),
}
CATEGORY_KEYWORDS = {
    "CATEGORY_0001": {
        "办理事项": "thing",
        "办理进度": "phrase",
        "办理时间": "time",
        "受理编号": "character_string",
    }
}
MAX_TEMPLATES = 25  # an account holds at most 25 private templates (45026)
_ids = itertools.count(1)
_msgids = itertools.count(3_000_000_001)
_id_lock = threading.Lock()


def _state(app: AppState) -> dict[str, Any]:
    return app.area_state(
        AREA,
        lambda: {
            "templates": {},
            "industry": {"primary": ("IT科技", "互联网|电子商务"), "secondary": ("IT科技", "IT软件与服务")},
            "sent": {},
            "unsubscribed": set(),
            "blocked": set(),
        },
    )


@state_section(AREA)
def _describe(app: AppState) -> dict:
    st = _state(app)
    sent = list(st["sent"].values())
    return {
        "templates": list(st["templates"].values()),
        "sent_count": len(sent),
        "sent": sent[-100:],
    }


@api_route("GET", "/cgi-bin/template/get_all_private_template")
def get_all_private_template(sb: Sandbox, request: SandboxRequest, app: AppState):
    with sb._lock:
        return {"template_list": [dict(t) for t in _state(app)["templates"].values()]}


@api_route("GET", "/cgi-bin/template/get_industry")
def get_industry(sb: Sandbox, request: SandboxRequest, app: AppState):
    with sb._lock:
        industry = _state(app)["industry"]
    return {
        "primary_industry": {"first_class": industry["primary"][0], "second_class": industry["primary"][1]},
        "secondary_industry": {
            "first_class": industry["secondary"][0],
            "second_class": industry["secondary"][1],
        },
    }


@api_route("POST", "/cgi-bin/template/api_add_template")
def api_add_template(sb: Sandbox, request: SandboxRequest, app: AppState):
    """40037 for an unknown short id, 40246 an unknown keyword name, 45026 over 25 templates."""
    body = request.json()
    short = body.get("template_id_short")
    if short not in LIBRARY:
        return sb.error(40037, "invalid template_id", app=app)
    title, content = LIBRARY[short]
    if short in CATEGORY_KEYWORDS:
        names = body.get("keyword_name_list") or []
        known = CATEGORY_KEYWORDS[short]
        if not names or any(name not in known for name in names):
            return sb.error(40246, "invalid keyword name", app=app)
        content = "\n".join(f"{name}{{{{{known[name]}{i}.DATA}}}}" for i, name in enumerate(names, 1))
    with _id_lock:
        template_id = f"tpl_{short[-4:]}_{next(_ids):06d}" + "x" * 20
    with sb._lock:
        st = _state(app)
        if len(st["templates"]) >= MAX_TEMPLATES:
            return sb.error(45026, "template size out of limit", app=app)
        st["templates"][template_id] = {
            "template_id": template_id,
            "title": title,
            "primary_industry": st["industry"]["primary"][0],
            "deputy_industry": st["industry"]["primary"][1],
            "content": content,
            "example": "",
        }
    return {"errcode": 0, "errmsg": "ok", "template_id": template_id}


@api_route("POST", "/cgi-bin/template/del_private_template")
def del_private_template(sb: Sandbox, request: SandboxRequest, app: AppState):
    template_id = request.json().get("template_id")
    with sb._lock:
        if _state(app)["templates"].pop(template_id, None) is None:
            return sb.error(40037, "invalid template_id", app=app)
    return sb.ok()


def _send_problem(template: dict, body: dict) -> tuple[int, str] | None:
    data = body.get("data")
    if not isinstance(data, dict):
        return 47001, "data format error"
    for name, kind in keywords_of(template["content"]):
        if name in RETIRED_FIELDS:
            continue
        item = data.get(name)
        value = item.get("value") if isinstance(item, dict) else None
        if not isinstance(value, str) or keyword_problem(kind, value):
            return 47003, f"argument invalid! data.{name}.value invalid"
    url = body.get("url")
    if url is not None and (not isinstance(url, str) or not url.startswith(("http://", "https://"))):
        return 40039, "invalid url"
    mini = body.get("miniprogram")
    if mini is not None and (not isinstance(mini, dict) or not mini.get("appid")):
        return 40166, "invalid appid"
    return None


@api_route("POST", "/cgi-bin/message/template/send", quota=100_000)
def message_template_send(sb: Sandbox, request: SandboxRequest, app: AppState):
    """40003 a malformed OpenID, 43004 not a follower (unsubscribed), 40037 unknown template,
    47003 a missing/invalid value; a blocked user's send succeeds and finishes as
    "failed:user block" (WeChat tells it in TEMPLATESENDJOBFINISH)."""
    body = request.json()
    openid = body.get("touser")
    if not isinstance(openid, str) or not OPENID.match(openid):
        return sb.error(40003, "invalid openid", app=app)
    with sb._lock:
        st = _state(app)
        template = st["templates"].get(body.get("template_id"))
        unsubscribed = openid in st["unsubscribed"]
    if template is None:
        return sb.error(40037, "invalid template_id", app=app)
    if unsubscribed:
        return sb.error(43004, "require subscribe", app=app)
    problem = _send_problem(template, body)
    if problem:
        return sb.error(problem[0], problem[1], app=app)
    with _id_lock:
        msgid = next(_msgids)
    with sb._lock:
        st["sent"][msgid] = {
            "msgid": msgid,
            "touser": openid,
            "template_id": template["template_id"],
            "data": {k: v.get("value") for k, v in body["data"].items() if isinstance(v, dict)},
            "url": body.get("url"),
            "miniprogram": body.get("miniprogram"),
            "client_msg_id": body.get("client_msg_id"),
            "status": None,
            "at": sb.clock(),
        }
    return {"errcode": 0, "errmsg": "ok", "msgid": msgid}


@route("POST", "/sandbox/templates/<appid>/tag")
def set_tag(sb: Sandbox, request: SandboxRequest, appid: str):
    app = sb.app(appid)
    if app is None:
        return json_response({"errcode": 404, "errmsg": "unknown appid"}, status=404)
    body = request.json()
    tag_id = int(body["tag_id"])
    with sb._lock:
        # the followers and tags area's state (areas/tags.py answers user/tag/get from it)
        followers = audience(app)
        followers.tags.setdefault(tag_id, f"tag {tag_id}")
        followers.next_tag_id = max(followers.next_tag_id, tag_id + 1)
        for openid in (str(o) for o in body.get("openids", [])):
            if not followers.is_follower(openid):
                followers.subscribe(openid, at=int(sb.clock()), scene="ADD_SCENE_SEARCH")
            tag_ids = followers.info.setdefault(openid, {}).setdefault("tagid_list", [])
            if tag_id not in tag_ids:
                tag_ids.append(tag_id)
                followers.tag_counts[tag_id] = followers.tag_counts.get(tag_id, 0) + 1
    return sb.ok()


@route("POST", "/sandbox/templates/<appid>/users")
def set_users(sb: Sandbox, request: SandboxRequest, appid: str):
    app = sb.app(appid)
    if app is None:
        return json_response({"errcode": 404, "errmsg": "unknown appid"}, status=404)
    body = request.json()
    with sb._lock:
        st = _state(app)
        st["unsubscribed"].update(body.get("unsubscribed") or [])
        st["blocked"].update(body.get("blocked") or [])
    return sb.ok()


def finish_xml(*, to_user: str, openid: str, msgid: int, status: str, now: int) -> str:
    """The TEMPLATESENDJOBFINISH push (§h): Status "success", "failed:user block" or
    "failed: system failed"."""
    return (
        f"<xml><ToUserName>{cdata(to_user)}</ToUserName><FromUserName>{cdata(openid)}</FromUserName>"
        f"<CreateTime>{now}</CreateTime><MsgType>{cdata('event')}</MsgType>"
        f"<Event>{cdata('TEMPLATESENDJOBFINISH')}</Event><MsgID>{msgid}</MsgID>"
        f"<Status>{cdata(status)}</Status></xml>"
    )


@route("POST", "/sandbox/templates/<appid>/finish")
def finish(sb: Sandbox, request: SandboxRequest, appid: str):
    """Push TEMPLATESENDJOBFINISH for sent messages to the account's callback URL."""
    app = sb.app(appid)
    if app is None:
        return json_response({"errcode": 404, "errmsg": "unknown appid"}, status=404)
    if not app.callback_url or not app.token:
        return json_response({"errcode": 400, "errmsg": "no callback URL or server token"}, status=400)
    body = request.json()
    wanted = body.get("msgids")
    forced = body.get("status")
    with sb._lock:
        st = _state(app)
        pending = [
            m for m in st["sent"].values() if m["status"] is None and (wanted is None or m["msgid"] in wanted)
        ]
        blocked = set(st["blocked"])
    pushed = failed = 0
    for message in pending:
        status = forced or ("failed:user block" if message["touser"] in blocked else "success")
        now = int(sb.clock())
        xml = finish_xml(
            to_user=app.original_id or "gh_sandbox",
            openid=message["touser"],
            msgid=message["msgid"],
            status=status,
            now=now,
        )
        ok = push_to_callback(app, xml, now=now, openid=message["touser"])
        if ok:
            pushed += 1
            with sb._lock:
                message["status"] = status
        else:
            failed += 1
    return {"pushed": pushed, "failed": failed}
