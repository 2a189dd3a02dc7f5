"""Passive replies: the XML answered to a push (docs/wechat-protocol.md §c, §d).

ToUserName is the user's OpenID, FromUserName the account's original ID (gh_…).
Text goes in CDATA; a `]]>` inside it is split across two CDATA sections so that
no content can close the section and inject elements.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

#: the body WeChat accepts as "no reply, do not retry"
SUCCESS = "success"


def cdata(value: str) -> str:
    return "<![CDATA[" + str(value).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _head(to_user: str, from_user: str, msg_type: str, create_time: int | None) -> str:
    created = int(time.time()) if create_time is None else int(create_time)
    return (
        f"<ToUserName>{cdata(to_user)}</ToUserName>"
        f"<FromUserName>{cdata(from_user)}</FromUserName>"
        f"<CreateTime>{created}</CreateTime>"
        f"<MsgType>{cdata(msg_type)}</MsgType>"
    )


def text_reply(*, to_user: str, from_user: str, content: str, create_time: int | None = None) -> str:
    return f"<xml>{_head(to_user, from_user, 'text', create_time)}<Content>{cdata(content)}</Content></xml>"


@dataclass(frozen=True)
class Article:
    title: str
    description: str = ""
    url: str = ""
    pic_url: str = ""


def news_reply(*, to_user: str, from_user: str, article: Article, create_time: int | None = None) -> str:
    """One article: since 2018-10-12 a reply to a user message may carry only one."""
    item = (
        f"<item><Title>{cdata(article.title)}</Title>"
        f"<Description>{cdata(article.description)}</Description>"
        f"<PicUrl>{cdata(article.pic_url)}</PicUrl>"
        f"<Url>{cdata(article.url)}</Url></item>"
    )
    return (
        f"<xml>{_head(to_user, from_user, 'news', create_time)}"
        f"<ArticleCount>1</ArticleCount><Articles>{item}</Articles></xml>"
    )


def transfer_reply(
    *, to_user: str, from_user: str, kf_account: str | None = None, create_time: int | None = None
) -> str:
    """R-KF-03: hand the user's message to customer service, optionally to one named agent."""
    trans = f"<TransInfo><KfAccount>{cdata(kf_account)}</KfAccount></TransInfo>" if kf_account else ""
    head = _head(to_user, from_user, "transfer_customer_service", create_time)
    return f"<xml>{head}{trans}</xml>"


def describe_reply(xml: str) -> dict[str, Any] | None:
    """The reply as the JSON the simulated user and the phone preview show.

    {"type": "text", "content": …}, {"type": "news", "title", "description", "url",
    "pic_url"}, {"type": "transfer_customer_service", "kf_account"}; None for
    `success` or an empty body.
    """
    from .messages import parse_xml

    if not xml or xml.strip() == SUCCESS:
        return None
    data = parse_xml(xml)
    msg_type = data.get("MsgType", "")
    if msg_type == "text":
        return {"type": "text", "content": data.get("Content", "")}
    if msg_type == "news":
        items = (data.get("Articles") or {}).get("item") or {}
        item = items[0] if isinstance(items, list) else items
        return {
            "type": "news",
            "title": item.get("Title", ""),
            "description": item.get("Description", ""),
            "url": item.get("Url", ""),
            "pic_url": item.get("PicUrl", ""),
        }
    if msg_type == "transfer_customer_service":
        trans = data.get("TransInfo") or {}
        return {
            "type": "transfer_customer_service",
            "kf_account": trans.get("KfAccount", "") if isinstance(trans, dict) else "",
        }
    return {"type": msg_type}
