"""Drafts (草稿箱) and publishing (发布能力): articles go through drafts since WeChat withdrew
``material/add_news`` (45103).

Protocol facts (docs/wechat-protocol.md §h "Drafts and publishing"; checked on WeChat's pages
developers.weixin.qq.com/doc/service/api/draftbox/… and /doc/service/api/public/api_freepublish_get):

- ``POST /cgi-bin/draft/add`` ``{"articles": [...]}`` (1–8 articles; each ``title``,
  ``author``, ``digest``, ``content`` (HTML, under 20,000 characters and 1 MB, scripts
  removed by WeChat), ``content_source_url``, ``thumb_media_id`` (a permanent material,
  required), ``need_open_comment`` and ``only_fans_can_comment`` 0/1) answers ``media_id``.
  Not idempotent: a retry could add a second draft.
- ``POST /cgi-bin/draft/update`` ``{media_id, index, articles}``: replaces the article at
  ``index`` (0-based). Idempotent.
- ``POST /cgi-bin/draft/get`` ``{media_id}`` answers ``news_item`` (the articles, with ``url``
  a preview link); ``draft/delete`` ``{media_id}``; ``draft/batchget`` ``{offset, count
  (1–20), no_content}`` answers ``total_count``, ``item_count``, ``item`` (``media_id``,
  ``content.news_item``, ``update_time``); ``GET draft/count`` answers ``total_count``.
  An unknown media_id → 40007.
- ``POST /cgi-bin/freepublish/submit`` ``{media_id}`` answers ``publish_id``; the draft leaves
  the draft box. Not idempotent. 53503 the draft is not ready (e.g. no cover), 53505 a
  required field is missing.
- ``POST /cgi-bin/freepublish/get`` ``{publish_id}`` answers ``publish_status``: 0 success
  (with ``article_id`` and ``article_detail.item[].article_url``), 1 publishing, 2 refused as
  not original, 3 general failure, 4 refused by the platform's review, 5 every article deleted
  by the user after success, 6 every article banned by the system after success; ``fail_idx``
  lists the failed articles. The outcome is also pushed as the ``PUBLISHJOBFINISH`` event
  (``PublishEventInfo``: ``publish_id``, ``publish_status``, ``article_id``,
  ``article_detail``, ``fail_idx``).
- ``POST /cgi-bin/freepublish/batchget`` ``{offset, count, no_content}``; ``freepublish/delete``
  ``{article_id, index}`` (0 or omitted: every article).
"""

from __future__ import annotations

from typing import Any, cast

from wechat.client import JSONObject, WeChatClient

MAX_ARTICLES = 8
BATCH_MAX = 20

#: publish_status values (freepublish/get and PUBLISHJOBFINISH).
PUBLISH_SUCCESS = 0
PUBLISH_PUBLISHING = 1
PUBLISH_ORIGINAL_FAIL = 2
PUBLISH_FAIL = 3
PUBLISH_AUDIT_REFUSED = 4
PUBLISH_DELETED_BY_USER = 5
PUBLISH_BANNED = 6


def add(client: WeChatClient, articles: list[JSONObject]) -> str:
    """Add a draft; its ``media_id``. Never re-sent once it may have reached WeChat."""
    answer = client.call("POST", "/cgi-bin/draft/add", body={"articles": list(articles)}, idempotent=False)
    return str(answer["media_id"])


def update(client: WeChatClient, media_id: str, index: int, article: JSONObject) -> None:
    """Replace the article at ``index`` (0-based) of a draft."""
    client.call(
        "POST", "/cgi-bin/draft/update", body={"media_id": media_id, "index": int(index), "articles": article}
    )


def get(client: WeChatClient, media_id: str) -> list[JSONObject]:
    """A draft's articles (``news_item``); 40007 when WeChat does not know the draft."""
    answer = client.call("POST", "/cgi-bin/draft/get", body={"media_id": media_id})
    return cast(list[JSONObject], answer.get("news_item") or [])


def delete(client: WeChatClient, media_id: str) -> None:
    client.call("POST", "/cgi-bin/draft/delete", body={"media_id": media_id})


def batchget(
    client: WeChatClient, offset: int = 0, count: int = BATCH_MAX, *, no_content: bool = True
) -> JSONObject:
    """One page of the draft box (``total_count``, ``item_count``, ``item``)."""
    return client.call(
        "POST",
        "/cgi-bin/draft/batchget",
        body={
            "offset": int(offset),
            "count": max(1, min(BATCH_MAX, int(count))),
            "no_content": int(no_content),
        },
    )


def count(client: WeChatClient) -> int:
    answer = client.call("GET", "/cgi-bin/draft/count")
    return int(answer.get("total_count") or 0)


def submit(client: WeChatClient, media_id: str) -> str:
    """Publish a draft; the ``publish_id`` of the job. Never re-sent once it may have reached WeChat."""
    answer = client.call("POST", "/cgi-bin/freepublish/submit", body={"media_id": media_id}, idempotent=False)
    return str(answer["publish_id"])


def publish_status(client: WeChatClient, publish_id: str) -> JSONObject:
    """The publish job's state: ``publish_status``, ``article_id``, ``article_detail``, ``fail_idx``."""
    return client.call("POST", "/cgi-bin/freepublish/get", body={"publish_id": str(publish_id)})


def article_urls(answer: JSONObject) -> list[str]:
    """The published articles' URLs, in order, from freepublish/get or PUBLISHJOBFINISH."""
    detail: Any = answer.get("article_detail") or {}
    found = detail.get("item") if isinstance(detail, dict) else None
    if isinstance(found, dict):  # one article in the XML push
        found = [found]
    rows = [item for item in (found or []) if isinstance(item, dict)]
    rows.sort(key=lambda item: int(item.get("idx") or 0))
    return [str(item.get("article_url") or "") for item in rows]


def published(
    client: WeChatClient, offset: int = 0, count: int = BATCH_MAX, *, no_content: bool = True
) -> JSONObject:
    """One page of the published articles (freepublish/batchget)."""
    return client.call(
        "POST",
        "/cgi-bin/freepublish/batchget",
        body={
            "offset": int(offset),
            "count": max(1, min(BATCH_MAX, int(count))),
            "no_content": int(no_content),
        },
    )


def delete_published(client: WeChatClient, article_id: str, index: int = 0) -> None:
    """Delete a published article (``index`` 1-based; 0 every article of it). Not reversible."""
    client.call("POST", "/cgi-bin/freepublish/delete", body={"article_id": article_id, "index": int(index)})
