"""WeChat's statistics (protocol §h "Statistics"; the client's facts in ``wechat/api/datacube.py``).

``POST /datacube/<api>`` for getusersummary, getusercumulate, getupstreammsg,
getupstreammsgdist, getinterfacesummary, getbizsummary and the per-article getarticleread and
getarticleshare, with WeChat's rules: at most the API's span per call and an ``end_date``
before today (Beijing), else 61501; a malformed date 61500; nothing before 2014-12-01 (before
2025-11-01 for the per-article two). Articles: each day publishes none, one or two (``msgid``
``<msg_data_id>_<index>``, the id fixed by the day), read and shared for a week after; a day on
which no article's figure changed answers an empty list, as WeChat does. The figures are
generated, plausible and **deterministic per (appid, day)** (``figures(appid, api, day)``
answers what a call returns for one day, so tests and benches can assert exact sums), and the
cumulative count is the running sum of the daily net growth (new − cancelled), as in WeChat.

The sandbox also **refuses yesterday before 08:00 Beijing time** (61501): WeChat's docs only say
the figures are final after 08:00, and a real call then may answer incomplete figures; the
project never asks for them before, and the sandbox makes asking visible.

Helpers for tests and the bench, ``POST /sandbox/datacube/<appid>``:
``{"since": "YYYY-MM-DD"|null}`` (days before it have no data: a new account),
``{"fault": {"day", "errcode", "errmsg"?, "api"?, "times"?}}`` (every call whose range holds
that day answers the error, ``times`` times or for ever when omitted),
``{"delay": "YYYY-MM-DD"}`` (getbizsummary, getarticleread and getarticleshare answer
``is_delay: true`` for a range holding it),
``{"clear": true}`` (no faults, delays nor ``since``). The calls are counted against the
daily quota like every API (``GET /sandbox/state/<appid>`` → ``calls_today``).
"""

from __future__ import annotations

import datetime
import hashlib
import threading
from typing import Any

from wechat.api.datacube import (
    DATE_FORMAT_ERROR,
    DATE_RANGE_ERROR,
    FIRST_DAY,
    READY_HOUR,
    SPANS,
    first_day,
)
from wechat_sandbox.core import AppState, Sandbox, state_section
from wechat_sandbox.endpoints import api_route
from wechat_sandbox.http import Answer, BadBody, SandboxRequest, route

AREA = "datacube"
#: subscribe sources and how many new followers a day each may bring at most
USER_SOURCES = {0: 12, 1: 25, 17: 6, 30: 40, 43: 4, 51: 3, 57: 8, 75: 5, 78: 5}
MSG_TYPES = (1, 2, 3, 4, 6)
READ_SOURCES = (0, 1, 2, 4, 5, 6, 7)
ALL_SOURCES = 99999999
#: an article is read and shared this many days from its publishing day on
ARTICLE_DAYS = 7
#: APIs whose answer carries ``is_delay``
DELAYABLE = ("getbizsummary", "getarticleread", "getarticleshare")

_cumulate_lock = threading.Lock()
#: (appid, since) -> running totals of net growth from FIRST_DAY, one per day
_cumulate_cache: dict[tuple[str, str], list[int]] = {}


def _n(appid: str, day: datetime.date, key: str, high: int) -> int:
    """A number in 0..high fixed by (appid, day, key)."""
    digest = hashlib.blake2b(f"{appid}|{day.isoformat()}|{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % (high + 1)


def _summary(appid: str, day: datetime.date) -> list[dict[str, Any]]:
    rows = []
    for source, high in USER_SOURCES.items():
        new = max(0, _n(appid, day, f"new{source}", high + 3) - 3)
        cancel = max(0, _n(appid, day, f"cancel{source}", high // 2 + 2) - 2)
        if new or cancel:
            rows.append({"user_source": source, "new_user": new, "cancel_user": cancel})
    return rows


def _net(appid: str, day: datetime.date) -> int:
    return sum(r["new_user"] - r["cancel_user"] for r in _summary(appid, day))


def _cumulate(appid: str, day: datetime.date, since: datetime.date | None) -> int:
    """The base audience plus the net growth of every day with data up to ``day``."""
    key = (appid, since.isoformat() if since else "")
    index = (day - FIRST_DAY).days
    with _cumulate_lock:
        totals = _cumulate_cache.setdefault(key, [])
        while len(totals) <= index:
            current = FIRST_DAY + datetime.timedelta(days=len(totals))
            step = 0 if since and current < since else _net(appid, current)
            totals.append((totals[-1] if totals else 0) + step)
        return 500 + _n(appid, FIRST_DAY, "base", 20_000) + totals[index]


def articles_published(appid: str, day: datetime.date) -> list[str]:
    """The msgids (``<msg_data_id>_<index>``) of the articles published on ``day``: 0, 1 or 2."""
    msg_data_id = 2_247_480_000 + (day - FIRST_DAY).days
    return [f"{msg_data_id}_{index}" for index in range(1, _n(appid, day, "published", 2) + 1)]


def _article_reads(appid: str, day: datetime.date, since: datetime.date | None) -> list[tuple[str, int]]:
    """(msgid, readers) of the articles read on ``day``: those of the last ARTICLE_DAYS days,
    fewer readers the older the article; an article nobody read that day has no row."""
    out = []
    for back in range(ARTICLE_DAYS):
        published = day - datetime.timedelta(days=back)
        if since is not None and published < since:
            break
        for msgid in articles_published(appid, published):
            readers = _n(appid, day, f"aread{msgid}", 600 // (back + 1))
            if readers:
                out.append((msgid, readers))
    return out


def _read_sources(appid: str, day: datetime.date, key: str, total: int) -> list[dict[str, int]]:
    """``total`` readers split over WeChat's read sources, plus the "all sources" row."""
    sources, left = [], total
    for source in READ_SOURCES[:-1]:
        share = min(left, _n(appid, day, f"{key}{source}", total // 3))
        sources.append({"user_source": source, "read_user": share})
        left -= share
    sources.append({"user_source": READ_SOURCES[-1], "read_user": left})
    return [*sources, {"user_source": ALL_SOURCES, "read_user": total}]


def figures(
    appid: str, api: str, day: datetime.date, since: datetime.date | None = None
) -> list[dict[str, Any]]:
    """The rows one call answers for ``day`` (without ``ref_date``); [] for a day without data."""
    if day < first_day(api) or (since is not None and day < since):
        return []
    if api == "getarticleread":
        return [
            {
                "msgid": msgid,
                "detail": {
                    "read_user": readers,
                    "read_user_source": _read_sources(appid, day, f"as{msgid}", readers),
                },
            }
            for msgid, readers in _article_reads(appid, day, since)
        ]
    if api == "getarticleshare":
        rows: list[dict[str, Any]] = []
        for msgid, readers in _article_reads(appid, day, since):
            sharers = _n(appid, day, f"ashare{msgid}", readers // 8)
            if sharers:
                rows.append({"msgid": msgid, "detail": {"share_user": sharers}})
        return rows
    if api == "getusersummary":
        return _summary(appid, day)
    if api == "getusercumulate":
        return [{"cumulate_user": _cumulate(appid, day, since)}]
    if api == "getupstreammsg":
        rows = []  # typed by the getarticleshare branch above
        for msg_type in MSG_TYPES:
            users = max(0, _n(appid, day, f"msg{msg_type}", 30) - (5 if msg_type > 1 else 0))
            if users:
                count = users + _n(appid, day, f"msgc{msg_type}", users * 2)
                rows.append({"msg_type": msg_type, "msg_user": users, "msg_count": count})
        return rows
    if api == "getupstreammsgdist":
        return [
            {"count_interval": interval, "msg_user": _n(appid, day, f"dist{interval}", 40 // interval)}
            for interval in (1, 2, 3)
        ]
    if api == "getinterfacesummary":
        calls = 50 + _n(appid, day, "calls", 3000)
        return [
            {
                "callback_count": calls,
                "fail_count": _n(appid, day, "fail", calls // 50),
                "total_time_cost": calls * (40 + _n(appid, day, "avg", 200)),
                "max_time_cost": 300 + _n(appid, day, "max", 4700),
            }
        ]
    if api == "getbizsummary":
        sources = [
            {"user_source": s, "read_user": _n(appid, day, f"read{s}", 120 if s in (0, 2) else 30)}
            for s in READ_SOURCES
        ]
        read = sum(s["read_user"] for s in sources)
        detail = {
            "read_user": read,
            "read_user_source": [*sources, {"user_source": ALL_SOURCES, "read_user": read}],
            "share_user": _n(appid, day, "share", read // 8 + 1),
            "zaikan_user": _n(appid, day, "zaikan", read // 20 + 1),
            "like_user": _n(appid, day, "like", read // 10 + 1),
            "comment_count": _n(appid, day, "comment", read // 30 + 1),
        }
        return [{"detail": detail}]
    raise KeyError(api)


def _state(app: AppState) -> dict[str, Any]:
    return app.area_state(AREA, lambda: {"since": None, "faults": {}, "delays": set()})


@state_section(AREA)
def _describe(app: AppState) -> dict[str, Any]:
    st = _state(app)
    return {
        "since": st["since"].isoformat() if st["since"] else None,
        "faults": {day.isoformat(): dict(f) for day, f in st["faults"].items()},
        "delays": sorted(d.isoformat() for d in st["delays"]),
    }


def _beijing_now(sb: Sandbox) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(sb.clock(), tz=datetime.timezone(datetime.timedelta(hours=8)))


def _date(value: object) -> datetime.date | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        return None


def _serve(sb: Sandbox, request: SandboxRequest, app: AppState, api: str) -> Answer:
    body = request.json()
    begin, end = _date(body.get("begin_date")), _date(body.get("end_date"))
    if begin is None or end is None:
        return sb.error(DATE_FORMAT_ERROR, "date format error", app=app)
    now = _beijing_now(sb)
    newest = now.date() - datetime.timedelta(days=1 if now.hour >= READY_HOUR else 2)
    if end < begin or (end - begin).days + 1 > SPANS[api] or end > newest:
        return sb.error(DATE_RANGE_ERROR, "date range error", app=app)
    days = [begin + datetime.timedelta(days=i) for i in range((end - begin).days + 1)]
    with sb._lock:
        st = _state(app)
        since = st["since"]
        for day in days:
            fault = st["faults"].get(day)
            if fault is None or fault.get("api", "*") not in ("*", api):
                continue
            if fault.get("times") is not None:
                fault["times"] -= 1
                if fault["times"] <= 0:
                    del st["faults"][day]
            return sb.error(int(fault["errcode"]), fault.get("errmsg") or "system error", app=app)
        delayed = any(day in st["delays"] for day in days)
    rows = [
        {"ref_date": day.isoformat(), **row} for day in days for row in figures(app.appid, api, day, since)
    ]
    answer: dict[str, Any] = {"list": rows}
    if api in DELAYABLE:
        answer["is_delay"] = delayed
    return sb.json(answer)


def _endpoint(api: str) -> None:
    def handler(sb: Sandbox, request: SandboxRequest, app: AppState) -> Answer:
        return _serve(sb, request, app, api)

    handler.__name__ = api
    api_route("POST", f"/datacube/{api}")(handler)


for _api in SPANS:
    _endpoint(_api)


@route("POST", "/sandbox/datacube/<appid>")
def control(sb: Sandbox, request: SandboxRequest, appid: str) -> dict[str, Any]:
    app = sb.app(appid)
    if app is None:
        raise BadBody(40013, "invalid appid")
    body = request.json()
    with sb._lock:
        st = _state(app)
        if body.get("clear"):
            st.update(since=None, faults={}, delays=set())
        if "since" in body:
            st["since"] = _date(body["since"])
        fault = body.get("fault")
        if isinstance(fault, dict):
            day = _date(fault.get("day"))
            if day is None or not isinstance(fault.get("errcode"), int):
                raise BadBody(40097, "invalid fault: day and errcode")
            st["faults"][day] = {
                "errcode": fault["errcode"],
                "errmsg": fault.get("errmsg"),
                "api": fault.get("api", "*"),
                "times": fault.get("times"),
            }
        delay = _date(body.get("delay"))
        if delay is not None:
            st["delays"].add(delay)
    return {"errcode": 0, "errmsg": "ok"}
