"""WeChat's statistics (数据统计, ``datacube``): users, messages, interface calls, articles.

Facts (docs/wechat-protocol.md §h "Statistics", checked on 2026-12-07 against the official pages
in the search tool's "docs" corpus; where they disagree with §h, the pages win):

- Every call is ``POST /datacube/<api>?access_token=`` with ``{"begin_date", "end_date"}``
  (``YYYY-MM-DD``, Beijing days) and answers ``{"list": [...]}``, one object per day (and per
  split: a subscribe source, a message type) that had data; a day without data has no row.
- The **maximum span** (最大时间跨度: ``end - begin + 1`` days) per API:
  ``getusersummary`` 7, ``getusercumulate`` 7 (developers.weixin.qq.com/doc/service/api/wedata/
  user/api_getusersummary and api_getusercumulate; /doc/service/en/Analytics/
  User_Analysis_Data_Interface.html), ``getupstreammsg`` 7, ``getupstreammsgdist`` 15 (消息分析
  数据接口), ``getinterfacesummary`` 30 (/doc/service/en/Analytics/Analytics_API.html).
  A longer span, or an ``end_date`` that is not before today (Beijing), is refused with
  **61501** "date range error" (§h; the code also seen in WeChat's community answers).
  A malformed date → **61500** "date format error".
- "To ensure that the data is calculated, query the previous day's data each day **after
  08:00**" (每日8点后获取前一天数据, api_getusercumulate §4): ``available_until`` below.
  The interface keeps data from **2014-12-01** on; earlier days answer nothing.
- ``getusersummary`` rows: ``ref_date``, ``user_source`` (0 other, 1 search, 17 card share,
  30 QR code, 43 article menu, 51 after payment, 57 article name, 75 article ad, 78 Moments ad…),
  ``new_user``, ``cancel_user``. ``getusercumulate``: ``ref_date``, ``cumulate_user``.
- ``getupstreammsg``: ``ref_date``, ``msg_type`` (1 text, 2 image, 3 voice, 4 video, 6 third-
  party app message), ``msg_user``, ``msg_count``. ``getupstreammsgdist``: ``count_interval``
  (0: 0, 1: 1–5, 2: 6–10, 3: more than 10 messages), ``msg_user``.
- ``getinterfacesummary``: ``callback_count``, ``fail_count``, ``total_time_cost``,
  ``max_time_cost`` (ms).
- **Articles.** ``getarticlesummary``, ``getarticletotal``, ``getuserread``,
  ``getuserreadhour``, ``getusershare`` and ``getusersharehour`` are no longer maintained
  ("本接口已停止维护，请尽快使用下面新接口进行替换", e.g. /doc/service/api/wedata/news/
  api_getuserread.md). Their replacements are ``getarticleread`` (每日阅读), ``getarticleshare``
  (每日分享), ``getbizsummary`` (发表内容概况总数据) and ``getarticletotaldetail`` (发表详细数据,
  at most 30 days of statistics per article). We use **getbizsummary**, the account's daily
  totals of published content (/doc/subscription/api/wedata/news/api_getbizsummary): rows of
  ``ref_date`` and ``detail`` {``read_user``, ``read_user_source`` [{``user_source``,
  ``read_user``}], ``share_user``, ``zaikan_user`` (爱心赞), ``like_user`` (拇指赞),
  ``comment_count``, …}, with a top-level ``is_delay`` (true: not final yet). ``end_date`` at
  most yesterday. The stored copy of the page does not show a maximum span: we ask **one day**
  per call, which no span limit can refuse (say so when the page is read in full).
- **Per article** (the maintained replacements, 2026-12-07): ``getarticleread`` (每日阅读,
  /doc/service/api/wedata/news/api_getarticleread: rows of ``ref_date``, ``msgid`` — the
  publish's ``msg_data_id`` and the article's index, e.g. ``2247490098_1`` — and ``detail``
  {``read_user``, ``read_user_source`` …}, top-level ``is_delay``) and ``getarticleshare``
  (每日分享, /doc/subscription/api/wedata/news/api_getarticleshare: ``ref_date``, ``msgid``,
  ``detail`` {``share_user``}). The share page's notes: "数据存储起始时间为2025-11-01，之前日期
  数据无效" and "日期范围仅支持查询1天"; a day with no article's figure changing answers an empty
  list. The read page's notes are cut in the stored copy: we treat it the same (one day a call,
  nothing before ``ARTICLE_FIRST_DAY``). ``getarticletotaldetail`` (per article, summed over at
  most 30 days after publishing, by publish date) is not synced: its figures restate the daily
  ones above. The old per-article and hourly interfaces (getarticlesummary 1 day, getarticletotal
  1, getuserread 3, getuserreadhour 1, getusershare 7, getusersharehour 1 — their spans from the
  old "图文分析数据接口" table) are unmaintained and not called.
- **Upstream distribution**: ``getupstreammsgdist`` (消息发送分布, /doc/service/en/api/wedata/mess/
  api_getupstreammsgdist: "span no more than 15 days"): rows of ``ref_date``, ``count_interval``
  and ``msg_user``. Its ``…week`` and ``…month`` variants (api_getupstreammsgdistweek,
  …distmonth) restate the daily rows over longer buckets, which the pages sum themselves.
"""

from __future__ import annotations

import datetime
from typing import Final

from wechat.client import JSONObject, WeChatClient

#: WeChat's codes for this area.
DATE_FORMAT_ERROR: Final = 61500
DATE_RANGE_ERROR: Final = 61501

#: The first day the interface keeps data for.
FIRST_DAY: Final = datetime.date(2014, 12, 1)
#: The first day the per-article interfaces keep (getarticleread, getarticleshare).
ARTICLE_FIRST_DAY: Final = datetime.date(2025, 11, 1)
#: Yesterday's figures are final after this Beijing hour.
READY_HOUR: Final = 8
BEIJING: Final = datetime.timezone(datetime.timedelta(hours=8))

#: api -> its maximum span in days (see the module docstring).
SPANS: Final[dict[str, int]] = {
    "getusersummary": 7,
    "getusercumulate": 7,
    "getupstreammsg": 7,
    "getupstreammsgdist": 15,
    "getinterfacesummary": 30,
    "getbizsummary": 1,
    "getarticleread": 1,
    "getarticleshare": 1,
}
#: api -> the first day it keeps data for (FIRST_DAY when not listed).
FIRST_DAYS: Final[dict[str, datetime.date]] = {
    "getarticleread": ARTICLE_FIRST_DAY,
    "getarticleshare": ARTICLE_FIRST_DAY,
}


def first_day(api: str) -> datetime.date:
    return FIRST_DAYS.get(api, FIRST_DAY)


def path(api: str) -> str:
    return f"/datacube/{api}"


def available_until(now: datetime.datetime) -> datetime.date:
    """The last Beijing day whose figures can be asked for at ``now``: yesterday from 08:00
    Beijing time, the day before until then."""
    local = now.astimezone(BEIJING)
    back = 1 if local.hour >= READY_HOUR else 2
    return local.date() - datetime.timedelta(days=back)


def check_span(api: str, begin: datetime.date, end: datetime.date) -> None:
    """Refuse here what WeChat would refuse with 61501 (a reversed or too long range)."""
    span = SPANS[api]
    if end < begin or (end - begin).days + 1 > span:
        raise ValueError(f"{api} takes 1 to {span} days, not {begin}..{end}")


def fetch(client: WeChatClient, api: str, begin: datetime.date, end: datetime.date) -> JSONObject:
    """One call: ``{"list": [...], "is_delay": bool}`` (``is_delay`` only where WeChat says it)."""
    check_span(api, begin, end)
    answer = client.call(
        "POST", path(api), body={"begin_date": begin.isoformat(), "end_date": end.isoformat()}
    )
    rows: list[JSONObject] = list(answer.get("list") or [])
    return {"list": rows, "is_delay": bool(answer.get("is_delay", False))}


def user_summary(client: WeChatClient, begin: datetime.date, end: datetime.date) -> list[JSONObject]:
    rows: list[JSONObject] = fetch(client, "getusersummary", begin, end)["list"]
    return rows


def user_cumulate(client: WeChatClient, begin: datetime.date, end: datetime.date) -> list[JSONObject]:
    rows: list[JSONObject] = fetch(client, "getusercumulate", begin, end)["list"]
    return rows


def upstream_msg(client: WeChatClient, begin: datetime.date, end: datetime.date) -> list[JSONObject]:
    rows: list[JSONObject] = fetch(client, "getupstreammsg", begin, end)["list"]
    return rows


def upstream_msg_dist(client: WeChatClient, begin: datetime.date, end: datetime.date) -> list[JSONObject]:
    """getupstreammsgdist: users per ``count_interval`` (1: 1–5 messages, 2: 6–10, 3: more)."""
    rows: list[JSONObject] = fetch(client, "getupstreammsgdist", begin, end)["list"]
    return rows


def interface_summary(client: WeChatClient, begin: datetime.date, end: datetime.date) -> list[JSONObject]:
    rows: list[JSONObject] = fetch(client, "getinterfacesummary", begin, end)["list"]
    return rows


def biz_summary(client: WeChatClient, begin: datetime.date, end: datetime.date) -> JSONObject:
    """getbizsummary: ``{"list", "is_delay"}`` (a delayed answer is not final)."""
    return fetch(client, "getbizsummary", begin, end)


def article_read(client: WeChatClient, begin: datetime.date, end: datetime.date) -> JSONObject:
    """getarticleread: per article (``msgid``) its readers of the day; ``{"list", "is_delay"}``."""
    return fetch(client, "getarticleread", begin, end)


def article_share(client: WeChatClient, begin: datetime.date, end: datetime.date) -> JSONObject:
    """getarticleshare: per article (``msgid``) its sharers of the day; ``{"list", "is_delay"}``."""
    return fetch(client, "getarticleshare", begin, end)
