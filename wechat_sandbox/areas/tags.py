"""Follower tags (protocol §h "Tags"; facts in ``wechat/api/tags.py``): ≤ 100 tags (45056),
names ≤ 30 UTF-8 bytes (45158) and unique (45157), tags 0/1/2 reserved (45058), no direct
delete above 100,000 followers (45057), tagging ≤ 50 OpenIDs (40032), ≤ 20 tags a follower
(45059), an unknown tag 45159. The followers are the ``users`` area's (``_audience``)."""

from __future__ import annotations

from wechat_sandbox.areas._audience import Audience, audience
from wechat_sandbox.core import AppState, Sandbox
from wechat_sandbox.endpoints import api_route
from wechat_sandbox.http import SandboxRequest

MAX_TAGS = 100
NAME_MAX_BYTES = 30
RESERVED = frozenset({0, 1, 2})
DELETE_MAX_FOLLOWERS = 100_000
TAGGING_BATCH_MAX = 50
MAX_TAGS_PER_USER = 20
PAGE = 10_000


def _name_error(sb: Sandbox, app: AppState, a: Audience, name, own_id: int | None = None):
    if not isinstance(name, str) or not name.strip():
        return sb.error(45157, "invalid tag name", app=app)
    if len(name.encode("utf-8")) > NAME_MAX_BYTES:
        return sb.error(45158, "tag name too long", app=app)
    if any(n == name and i != own_id for i, n in a.tags.items()):
        return sb.error(45157, "invalid tag name", app=app)
    return None


def _tag(body: dict) -> dict:
    tag = body.get("tag")
    return tag if isinstance(tag, dict) else {}


@api_route("POST", "/cgi-bin/tags/create")
def create(sb: Sandbox, request: SandboxRequest, app: AppState):
    name = _tag(request.json()).get("name")
    with sb._lock:
        a = audience(app)
        refused = _name_error(sb, app, a, name)
        if refused is not None:
            return refused
        if len(a.tags) >= MAX_TAGS:
            return sb.error(45056, "too many tags now, no need to add new", app=app)
        tag_id = a.next_tag_id
        a.next_tag_id += 1
        a.tags[tag_id] = str(name)
        a.tag_counts[tag_id] = 0
    return sb.json({"tag": {"id": tag_id, "name": name}})


@api_route("GET", "/cgi-bin/tags/get")
def list_tags(sb: Sandbox, request: SandboxRequest, app: AppState):
    with sb._lock:
        a = audience(app)
        tags = [{"id": i, "name": n, "count": a.tag_counts.get(i, 0)} for i, n in a.tags.items()]
    return sb.json({"tags": tags})


@api_route("POST", "/cgi-bin/tags/update")
def update(sb: Sandbox, request: SandboxRequest, app: AppState):
    tag = _tag(request.json())
    tag_id = tag.get("id")
    with sb._lock:
        a = audience(app)
        if tag_id in RESERVED:
            return sb.error(45058, "can't modify sys tag", app=app)
        if tag_id not in a.tags:
            return sb.error(45159, "invalid tag id", app=app)
        refused = _name_error(sb, app, a, tag.get("name"), own_id=tag_id)
        if refused is not None:
            return refused
        a.tags[tag_id] = tag["name"]
    return sb.ok()


@api_route("POST", "/cgi-bin/tags/delete")
def delete(sb: Sandbox, request: SandboxRequest, app: AppState):
    tag_id = _tag(request.json()).get("id")
    with sb._lock:
        a = audience(app)
        if tag_id in RESERVED:
            return sb.error(45058, "can't modify sys tag", app=app)
        if tag_id not in a.tags:
            return sb.error(45159, "invalid tag id", app=app)
        if a.tag_counts.get(tag_id, 0) > DELETE_MAX_FOLLOWERS:
            return sb.error(45057, "can't delete the tag that has too much fans", app=app)
        del a.tags[tag_id]
        a.tag_counts.pop(tag_id, None)
        for info in a.info.values():
            if tag_id in info.get("tagid_list", ()):
                info["tagid_list"].remove(tag_id)
    return sb.ok()


def _tagging(sb: Sandbox, request: SandboxRequest, app: AppState, *, add: bool):
    body = request.json()
    openids, tag_id = body.get("openid_list"), body.get("tagid")
    if not isinstance(openids, list) or not openids or len(openids) > TAGGING_BATCH_MAX:
        return sb.error(40032, "invalid openid list size", app=app)
    with sb._lock:
        a = audience(app)
        if tag_id not in a.tags:
            return sb.error(45159, "invalid tag id", app=app)
        if any(not isinstance(o, str) or not a.is_follower(o) for o in openids):
            return sb.error(40003, "invalid openid", app=app)
        if add and any(
            tag_id not in a.user_tags(o) and len(a.user_tags(o)) >= MAX_TAGS_PER_USER for o in openids
        ):
            return sb.error(45059, "tag number of user reach the limit", app=app)
        for openid in openids:  # all checked first: nothing is half done
            held = a.info.setdefault(openid, {}).setdefault("tagid_list", [])
            if add and tag_id not in held:
                held.append(tag_id)
                a.tag_counts[tag_id] += 1
            elif not add and tag_id in held:
                held.remove(tag_id)
                a.tag_counts[tag_id] -= 1
    return sb.ok()


@api_route("POST", "/cgi-bin/tags/members/batchtagging")
def batch_tagging(sb: Sandbox, request: SandboxRequest, app: AppState):
    return _tagging(sb, request, app, add=True)


@api_route("POST", "/cgi-bin/tags/members/batchuntagging")
def batch_untagging(sb: Sandbox, request: SandboxRequest, app: AppState):
    return _tagging(sb, request, app, add=False)


@api_route("POST", "/cgi-bin/tags/getidlist")
def user_tag_ids(sb: Sandbox, request: SandboxRequest, app: AppState):
    openid = request.json().get("openid")
    with sb._lock:
        a = audience(app)
        if not isinstance(openid, str) or not a.is_follower(openid):
            return sb.error(40003, "invalid openid", app=app)
        return sb.json({"tagid_list": a.user_tags(openid)})


@api_route("POST", "/cgi-bin/user/tag/get")
def tag_members(sb: Sandbox, request: SandboxRequest, app: AppState):
    body = request.json()
    tag_id, after = body.get("tagid"), body.get("next_openid") or ""
    with sb._lock:
        a = audience(app)
        if tag_id not in a.tags:
            return sb.error(45159, "invalid tag id", app=app)
        members = sorted(
            (o for o, i in a.info.items() if tag_id in i.get("tagid_list", ()) and a.is_follower(o)),
            key=lambda o: a.position(o) or 0,
        )
    start = members.index(after) + 1 if after in members else 0
    page = members[start : start + PAGE]
    answer: dict = {"count": len(page), "next_openid": page[-1] if page else ""}
    if page:
        answer["data"] = {"openid": page}
    return sb.json(answer)
