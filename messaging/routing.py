"""Which reply a push gets. In-process and cheap: it must answer well inside WeChat's 5 s.

Precedence (issue 6): a menu click key → that button's reply (R-MENU-02); a
subscribe event → the welcome reply; then keyword and transfer rules (R-KF-03:
user messages only, never events) on ONE priority scale, higher first, a keyword
rule winning a tie (issue 12); otherwise nothing (`success`).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from accounts.models import OfficialAccount
from menus.selectors import click_reply_for
from wechat import replies
from wechat.messages import EventMessage, KfSessionEvent, Message, TextMessage

from . import event_hooks, selectors
from .models import ReplyContent, ReplyType, Route


@dataclass(frozen=True)
class Decision:
    route: str
    reply_type: str = ""  # "text" | "news" | "transfer_customer_service" | ""
    text: str = ""
    article: replies.Article | None = None
    kf_account: str = ""
    keyword_rule_id: int | None = None

    @property
    def summary(self) -> str:
        if self.reply_type == "text":
            return self.text
        if self.reply_type == "news" and self.article:
            return f"{self.article.title} — {self.article.url}"
        if self.reply_type == "transfer_customer_service":
            return self.kf_account
        return ""

    def render(self, message: Message, *, create_time: int | None = None) -> str:
        """The passive reply XML, or "" when nothing is answered (the view sends `success`)."""
        to_user, from_user = message.from_user, message.to_user
        if self.reply_type == "text":
            return replies.text_reply(
                to_user=to_user, from_user=from_user, content=self.text, create_time=create_time
            )
        if self.reply_type == "news" and self.article:
            return replies.news_reply(
                to_user=to_user, from_user=from_user, article=self.article, create_time=create_time
            )
        if self.reply_type == "transfer_customer_service":
            return replies.transfer_reply(
                to_user=to_user,
                from_user=from_user,
                kf_account=self.kf_account or None,
                create_time=create_time,
            )
        return ""


NO_REPLY = Decision(route=Route.NONE)


def _content_decision(route: str, content: ReplyContent, *, keyword_rule_id: int | None = None) -> Decision:
    if content.reply_type == ReplyType.NEWS:
        article = replies.Article(
            title=content.news_title,
            description=content.news_description,
            url=content.news_url,
            pic_url=content.news_pic_url,
        )
        return Decision(route=route, reply_type="news", article=article, keyword_rule_id=keyword_rule_id)
    return Decision(route=route, reply_type="text", text=content.reply_text, keyword_rule_id=keyword_rule_id)


def click_reply(*, account: OfficialAccount, key: str) -> str | None:
    """R-MENU-02: the reply text of the menu's click button with this key, if any.

    The menus app owns buttons and their replies (the one app messaging reads, see
    ARCHITECTURE.md). Imported plainly: a broken `menus.selectors` stops the callback from
    loading instead of answering every click with `success`.
    """
    return click_reply_for(account=account, key=key)


def kf_transfer_allowed(account: OfficialAccount) -> bool:
    """R-KF-01 / R-KF-03: transfer replies only for certified service accounts whose
    customer-service plug-in is on and which run in developer mode."""
    return bool(
        account.kf_enabled and account.developer_mode and account.is_service and account.is_certified()
    )


def route_message(
    *,
    account: OfficialAccount,
    message: Message,
    now: datetime.datetime,
    rules: selectors.RuleSet | None = None,
) -> Decision:
    """Decide the reply to one push, following the precedence in the module docstring
    (R-MENU-02 click replies; R-KF-03 transfer, after R-KF-01's `kf_transfer_allowed`).

    `rules` are the account's active rules (the callback passes its cached set);
    without them they are read from the database.
    """
    if rules is None:
        rules = selectors.load_rules(account=account)
    if isinstance(message, EventMessage):
        # R-KF-03: events are never transferred to customer service.
        if isinstance(message, KfSessionEvent):
            return Decision(route=Route.KF_EVENT)
        handler = event_hooks.handler_for(message.event)
        if handler is not None:
            # Another app's event (certification's 微信认证事件): it acts, nobody replies.
            handler(account=account, message=message, now=now)
            return NO_REPLY
        if message.event == "CLICK":
            text = click_reply(account=account, key=message.event_key)
            if text:
                return Decision(route=Route.CLICK, reply_type="text", text=text)
            return NO_REPLY
        if message.event == "subscribe":
            if rules.welcome is not None:
                return _content_decision(Route.WELCOME, rules.welcome)
        return NO_REPLY

    text = message.content if isinstance(message, TextMessage) else ""
    keyword = None
    if isinstance(message, TextMessage):
        for rule in rules.keyword_rules:
            if rule.matches(text):
                keyword = rule
                break

    # One priority order for keyword and transfer rules (R-KF-03): a transfer rule answers
    # only when its priority is strictly higher than that of the matching keyword rule
    # (both lists are sorted by priority, highest first).
    if kf_transfer_allowed(account):
        for transfer in rules.transfer_rules:
            if keyword is not None and transfer.priority <= keyword.priority:
                break
            # Pattern rules look at text only; "any" rules take every user message.
            if (text or transfer.match_type == "any") and transfer.matches(text, now):
                kf = transfer.kf_account.kf_account if transfer.kf_account is not None else ""
                return Decision(route=Route.TRANSFER, reply_type="transfer_customer_service", kf_account=kf)
    if keyword is not None:
        return _content_decision(Route.KEYWORD, keyword, keyword_rule_id=keyword.pk)
    return NO_REPLY
