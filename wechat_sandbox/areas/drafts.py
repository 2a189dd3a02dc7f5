"""Drafts and publishing (protocol §h; the client's facts in ``wechat/api/drafts.py``).

Per account: the draft box (``media_id`` -> articles, update_time), the publish jobs
(``publish_id`` -> draft, status, article_id, urls) and the published articles.
WeChat's checks: 1–8 articles (45008 more, 44003 none), a title (44003 empty, 45003 over
64 characters), a cover that is a permanent image or thumb of the account (40007),
content under 20,000 characters and 1 MB (45002), a digest of at most 120 characters
(45004), ``content_source_url`` of at most 1,024 bytes (45005), an unknown media_id or
publish_id (40007), ``draft/update`` an index outside the draft (40097). Scripts are
removed from the content, as WeChat does.

A publish job settles when ``freepublish/get`` asks after ``delay`` seconds (0 by default)
with the configured outcome (``status``: 0 success by default; 2, 3 or 4 a refusal with
``fail_idx``). A successful job takes the draft out of the draft box.

Helpers for tests and the bench:

- ``POST /sandbox/drafts/<appid>/outcome`` ``{"status": 4, "fail_idx": [1], "delay": 3600}``:
  how the next jobs settle;
- ``POST /sandbox/drafts/<appid>/finish`` ``{"publish_ids": [...]|omitted}`` settles the
  unsettled jobs now and pushes ``PUBLISHJOBFINISH`` to the account's callback, like WeChat.
  Answers ``{"pushed": n, "failed": n}``;
- ``POST /sandbox/drafts/<appid>/bulk`` ``{"count": 10000, "thumb_media_id": "…"}`` fills the
  draft box.
"""

from __future__ import annotations

import re
from typing import Any

from wechat.api.drafts import MAX_ARTICLES
from wechat.replies import cdata
from wechat_sandbox.areas import mass as mass_area
from wechat_sandbox.areas.materials import material_exists
from wechat_sandbox.core import AppState, Sandbox, state_section
from wechat_sandbox.endpoints import api_route
from wechat_sandbox.http import Answer, SandboxRequest, SandboxResponse, json_response, route
from wechat_sandbox.simulate import push_to_callback

AREA = "drafts"
_SCRIPT = re.compile(r"<script\b.*?</script\s*>", re.IGNORECASE | re.DOTALL)


def _state(app: AppState) -> dict[str, Any]:
    return app.area_state(
        AREA,
        lambda: {
            "drafts": {},
            "jobs": {},
            "published": {},
            "serial": 0,
            "outcome": {"status": 0, "fail_idx": [], "delay": 0},
        },
    )


@state_section(AREA)
def _describe(app: AppState) -> dict[str, Any]:
    st = _state(app)
    return {
        "draft_count": len(st["drafts"]),
        "drafts": list(st["drafts"].values())[-20:],
        "jobs": list(st["jobs"].values())[-20:],
        "published": list(st["published"].values())[-20:],
        "outcome": st["outcome"],
    }


def _article_problem(app: AppState, article: Any) -> tuple[int, str] | None:
    if not isinstance(article, dict):
        return 47001, "data format error"
    title = str(article.get("title") or "")
    if not title.strip():
        return 44003, "empty news data: title"
    if len(title) > 64:
        return 45003, "title size out of limit"
    content = str(article.get("content") or "")
    if not content.strip():
        return 44003, "empty news data: content"
    if len(content) >= 20_000 or len(content.encode("utf-8")) >= 1024 * 1024:
        return 45002, "content size out of limit"
    if len(str(article.get("digest") or "")) > 120:
        return 45004, "description size out of limit"
    if len(str(article.get("content_source_url") or "").encode("utf-8")) > 1024:
        return 45005, "url size out of limit"
    if not material_exists(app, str(article.get("thumb_media_id") or "")):
        return 40007, "invalid media_id: thumb_media_id"
    return None


def _stored(article: dict[str, Any], media_id: str) -> dict[str, Any]:
    return {
        "title": str(article.get("title") or ""),
        "author": str(article.get("author") or ""),
        "digest": str(article.get("digest") or ""),
        "content": _SCRIPT.sub("", str(article.get("content") or "")),
        "content_source_url": str(article.get("content_source_url") or ""),
        "thumb_media_id": str(article.get("thumb_media_id") or ""),
        "need_open_comment": int(article.get("need_open_comment") or 0),
        "only_fans_can_comment": int(article.get("only_fans_can_comment") or 0),
        "url": f"http://mp.weixin.qq.com/s?__biz=sandbox&mid={media_id[-8:]}",
    }


@api_route("POST", "/cgi-bin/draft/add", quota=1_000)
def draft_add(sb: Sandbox, request: SandboxRequest, app: AppState) -> Answer:
    articles = request.json().get("articles")
    if not isinstance(articles, list) or not articles:
        return sb.error(44003, "empty news data", app=app)
    if len(articles) > MAX_ARTICLES:
        return sb.error(45008, "article size out of limit", app=app)
    with sb._lock:
        for article in articles:
            problem = _article_problem(app, article)
            if problem:
                return sb.error(problem[0], problem[1], app=app)
        st = _state(app)
        st["serial"] += 1
        media_id = f"sbd_{app.appid[-6:]}_{st['serial']:07d}" + "d" * 20
        st["drafts"][media_id] = {
            "media_id": media_id,
            "articles": [_stored(a, media_id) for a in articles],
            "update_time": int(sb.clock()),
        }
    return {"media_id": media_id}


@api_route("POST", "/cgi-bin/draft/update")
def draft_update(sb: Sandbox, request: SandboxRequest, app: AppState) -> Answer:
    body = request.json()
    with sb._lock:
        draft = _state(app)["drafts"].get(body.get("media_id"))
        if draft is None:
            return sb.error(40007, "invalid media_id", app=app)
        try:
            index = int(body.get("index", -1))
        except (TypeError, ValueError):
            index = -1
        if not 0 <= index < len(draft["articles"]):
            return sb.error(40097, "invalid args: index", app=app)
        article = body.get("articles")
        problem = _article_problem(app, article)
        if problem or not isinstance(article, dict):
            return sb.error(*(problem or (47001, "data format error")), app=app)
        draft["articles"][index] = _stored(article, draft["media_id"])
        draft["update_time"] = int(sb.clock())
    return sb.ok()


@api_route("POST", "/cgi-bin/draft/get")
def draft_get(sb: Sandbox, request: SandboxRequest, app: AppState) -> Answer:
    with sb._lock:
        draft = _state(app)["drafts"].get(request.json().get("media_id"))
        if draft is None:
            return sb.error(40007, "invalid media_id", app=app)
        return {"news_item": [dict(a) for a in draft["articles"]]}


@api_route("POST", "/cgi-bin/draft/delete")
def draft_delete(sb: Sandbox, request: SandboxRequest, app: AppState) -> Answer:
    with sb._lock:
        if _state(app)["drafts"].pop(request.json().get("media_id"), None) is None:
            return sb.error(40007, "invalid media_id", app=app)
    return sb.ok()


@api_route("POST", "/cgi-bin/draft/batchget")
def draft_batchget(sb: Sandbox, request: SandboxRequest, app: AppState) -> Answer:
    body = request.json()
    try:
        offset, count = int(body.get("offset", 0)), int(body.get("count", 0))
    except (TypeError, ValueError):
        return sb.error(40097, "invalid args", app=app)
    if not 1 <= count <= 20 or offset < 0:
        return sb.error(40097, "invalid args", app=app)
    no_content = bool(body.get("no_content"))
    with sb._lock:
        rows = list(_state(app)["drafts"].values())
        rows.reverse()
        page = rows[offset : offset + count]
        items = [
            {
                "media_id": d["media_id"],
                "content": {
                    "news_item": [
                        {k: v for k, v in a.items() if not (no_content and k == "content")}
                        for a in d["articles"]
                    ]
                },
                "update_time": d["update_time"],
            }
            for d in page
        ]
    return {"total_count": len(rows), "item_count": len(items), "item": items}


@api_route("GET", "/cgi-bin/draft/count")
def draft_count(sb: Sandbox, request: SandboxRequest, app: AppState) -> Answer:
    with sb._lock:
        return {"total_count": len(_state(app)["drafts"])}


@api_route("POST", "/cgi-bin/freepublish/submit", quota=100)
def freepublish_submit(sb: Sandbox, request: SandboxRequest, app: AppState) -> Answer:
    media_id = request.json().get("media_id")
    with sb._lock:
        st = _state(app)
        draft = st["drafts"].get(media_id)
        if draft is None:
            return sb.error(40007, "invalid media_id", app=app)
        if any(job["media_id"] == media_id and job["status"] == 1 for job in st["jobs"].values()):
            return sb.error(53503, "该草稿未通过发布检查", app=app)
        st["serial"] += 1
        publish_id = str(2_247_000_000 + st["serial"])
        outcome = dict(st["outcome"])
        st["jobs"][publish_id] = {
            "publish_id": publish_id,
            "media_id": media_id,
            "status": 1,
            "target": int(outcome.get("status") or 0),
            "fail_idx": list(outcome.get("fail_idx") or []),
            "due": sb.clock() + float(outcome.get("delay") or 0),
            "article_id": "",
            "urls": [],
        }
    return {"errcode": 0, "errmsg": "ok", "publish_id": publish_id}


def _settle(sb: Sandbox, app: AppState, job: dict[str, Any]) -> None:
    """Give a job its outcome (under the lock); success moves the draft out of the box."""
    st = _state(app)
    job["status"] = job["target"]
    if job["status"] == 0:
        draft = st["drafts"].pop(job["media_id"], None)
        articles = draft["articles"] if draft else []
        job["article_id"] = f"sba_{job['publish_id']}" + "a" * 16
        job["urls"] = [
            f"http://mp.weixin.qq.com/s/{job['publish_id']}_{index}" for index in range(1, len(articles) + 1)
        ]
        st["published"][job["article_id"]] = {
            "article_id": job["article_id"],
            "articles": articles,
            "urls": job["urls"],
            "update_time": int(sb.clock()),
        }
    elif not job["fail_idx"]:
        job["fail_idx"] = [1]


def _job_answer(job: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = {"publish_id": job["publish_id"], "publish_status": job["status"]}
    if job["status"] == 0:
        answer["article_id"] = job["article_id"]
        answer["article_detail"] = {
            "count": len(job["urls"]),
            "item": [{"idx": i, "article_url": url} for i, url in enumerate(job["urls"], 1)],
        }
    answer["fail_idx"] = list(job["fail_idx"]) if job["status"] in (2, 3, 4) else []
    return answer


@api_route("POST", "/cgi-bin/freepublish/get")
def freepublish_get(sb: Sandbox, request: SandboxRequest, app: AppState) -> Answer:
    publish_id = str(request.json().get("publish_id") or "")
    with sb._lock:
        job = _state(app)["jobs"].get(publish_id)
        if job is None:
            return sb.error(40007, "invalid publish_id", app=app)
        if job["status"] == 1 and sb.clock() >= job["due"]:
            _settle(sb, app, job)
        return _job_answer(job)


@api_route("POST", "/cgi-bin/freepublish/batchget")
def freepublish_batchget(sb: Sandbox, request: SandboxRequest, app: AppState) -> Answer:
    body = request.json()
    try:
        offset, count = int(body.get("offset", 0)), int(body.get("count", 0))
    except (TypeError, ValueError):
        return sb.error(40097, "invalid args", app=app)
    if not 1 <= count <= 20 or offset < 0:
        return sb.error(40097, "invalid args", app=app)
    with sb._lock:
        rows = list(_state(app)["published"].values())
        rows.reverse()
        page = rows[offset : offset + count]
        items = [
            {
                "article_id": p["article_id"],
                "content": {
                    "news_item": [
                        {**a, "url": url, "is_deleted": False}
                        for a, url in zip(p["articles"], p["urls"], strict=False)
                    ]
                },
                "update_time": p["update_time"],
            }
            for p in page
        ]
    return {"total_count": len(rows), "item_count": len(items), "item": items}


@api_route("POST", "/cgi-bin/freepublish/delete")
def freepublish_delete(sb: Sandbox, request: SandboxRequest, app: AppState) -> Answer:
    with sb._lock:
        if _state(app)["published"].pop(request.json().get("article_id"), None) is None:
            return sb.error(40007, "invalid article_id", app=app)
    return sb.ok()


def finish_xml(*, to_user: str, job: dict[str, Any], now: int) -> str:
    """The PUBLISHJOBFINISH push: ``PublishEventInfo`` with the job's outcome."""
    detail = ""
    if job["status"] == 0:
        items = "".join(
            f"<item><idx>{i}</idx><article_url>{cdata(url)}</article_url></item>"
            for i, url in enumerate(job["urls"], 1)
        )
        detail = (
            f"<article_id>{cdata(job['article_id'])}</article_id>"
            f"<article_detail><count>{len(job['urls'])}</count>{items}</article_detail>"
        )
    fails = (
        "".join(f"<fail_idx>{i}</fail_idx>" for i in job["fail_idx"]) if job["status"] in (2, 3, 4) else ""
    )
    return (
        f"<xml><ToUserName>{cdata(to_user)}</ToUserName><FromUserName>{cdata('oSandboxPublisher000')}</FromUserName>"
        f"<CreateTime>{now}</CreateTime><MsgType>{cdata('event')}</MsgType>"
        f"<Event>{cdata('PUBLISHJOBFINISH')}</Event><PublishEventInfo>"
        f"<publish_id>{job['publish_id']}</publish_id><publish_status>{job['status']}</publish_status>"
        f"{detail}{fails}</PublishEventInfo></xml>"
    )


def _app_or_404(sb: Sandbox, appid: str) -> AppState | SandboxResponse:
    app = sb.app(appid)
    if app is None:
        return json_response({"errcode": 404, "errmsg": "unknown appid"}, status=404)
    return app


@route("POST", "/sandbox/drafts/<appid>/outcome")
def set_outcome(sb: Sandbox, request: SandboxRequest, appid: str) -> SandboxResponse:
    app = _app_or_404(sb, appid)
    if isinstance(app, SandboxResponse):
        return app
    body = request.json()
    with sb._lock:
        _state(app)["outcome"] = {
            "status": int(body.get("status") or 0),
            "fail_idx": [int(i) for i in body.get("fail_idx") or []],
            "delay": float(body.get("delay") or 0),
        }
    return sb.ok()


@route("POST", "/sandbox/drafts/<appid>/finish")
def finish(sb: Sandbox, request: SandboxRequest, appid: str) -> SandboxResponse:
    """Settle the unsettled publish jobs now and push PUBLISHJOBFINISH for each."""
    app = _app_or_404(sb, appid)
    if isinstance(app, SandboxResponse):
        return app
    if not app.callback_url or not app.token:
        return json_response({"errcode": 400, "errmsg": "no callback URL or server token"}, status=400)
    wanted = request.json().get("publish_ids") if request.body.strip() else None
    with sb._lock:
        jobs = [
            job
            for job in _state(app)["jobs"].values()
            if wanted is None or job["publish_id"] in {str(w) for w in wanted}
        ]
        for job in jobs:
            if job["status"] == 1:
                _settle(sb, app, job)
        jobs = [dict(job) for job in jobs]
    pushed = failed = 0
    for job in jobs:
        now = int(sb.clock())
        xml = finish_xml(to_user=app.original_id or "gh_sandbox", job=job, now=now)
        ok = push_to_callback(app, xml, now=now, openid="oSandboxPublisher000")
        pushed += ok
        failed += not ok
    return json_response({"pushed": pushed, "failed": failed})


@route("POST", "/sandbox/drafts/<appid>/bulk")
def bulk(sb: Sandbox, request: SandboxRequest, appid: str) -> SandboxResponse:
    app = _app_or_404(sb, appid)
    if isinstance(app, SandboxResponse):
        return app
    body = request.json()
    count = max(0, min(200_000, int(body.get("count") or 0)))
    thumb = str(body.get("thumb_media_id") or "")
    with sb._lock:
        st = _state(app)
        for index in range(count):
            st["serial"] += 1
            media_id = f"sbd_{app.appid[-6:]}_{st['serial']:07d}" + "d" * 20
            article = {"title": f"草稿 {index}", "content": "<p>正文</p>", "thumb_media_id": thumb}
            st["drafts"][media_id] = {
                "media_id": media_id,
                "articles": [_stored(article, media_id)],
                "update_time": int(sb.clock()),
            }
    return json_response({"errcode": 0, "errmsg": "ok", "added": count})


def _draft_known_to_mass(app: AppState, msgtype: str, media_id: str) -> bool:
    """A mass send of an article (mpnews) takes a draft's media_id: one in this draft box."""
    return msgtype == "mpnews" and media_id in _state(app)["drafts"]


def _material_known_to_mass(app: AppState, msgtype: str, media_id: str) -> bool:
    """An image or voice mass send takes a permanent material of that kind."""
    return msgtype in ("image", "voice") and material_exists(app, media_id, kinds=(msgtype,))


mass_area.MEDIA_LOOKUPS.extend([_draft_known_to_mass, _material_known_to_mass])
