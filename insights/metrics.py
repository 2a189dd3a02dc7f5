"""What each metric key in ``DailyFigure`` means, for the pages, exports and the report.

WeChat's keys (source "wechat") are written by the datacube sync; ours (source "own") by
``insights.rollups`` from each app's ``daily_figures``. A key found in the table but not listed
here is still shown, under its key. ``kind`` says how days add up over a period: "sum" (new
followers, clicks) or "last" (total followers: the last day's value).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Metric:
    key: str
    label: str | Promise
    group: str
    kind: str = "sum"  # "sum" or "last"
    #: shown with a breakdown per dimension (button, rule, code, source…)
    split: str | Promise = ""


GROUPS: dict[str, str | Promise] = {
    "followers": _("Followers"),
    "messages": _("Messages"),
    "menu": _("Menu clicks"),
    "replies": _("Replies and conversations"),
    "qr": _("Channel QR codes"),
    "templates": _("Template messages"),
    "articles": _("Articles"),
    "api": _("API calls"),
}

METRICS: tuple[Metric, ...] = (
    # WeChat's statistics (datacube), synced daily
    Metric("user.new", _("New followers"), "followers", split=_("by source")),
    Metric("user.cancel", _("Unfollows"), "followers"),
    Metric("user.net", _("Net growth"), "followers"),
    Metric("user.cumulate", _("Total followers"), "followers", kind="last"),
    Metric("msg.upstream.count", _("Messages from users (WeChat)"), "messages"),
    Metric("msg.upstream.users", _("Users who sent messages (WeChat)"), "messages"),
    Metric("article.read", _("Article reads"), "articles"),
    Metric("article.read.users", _("Article readers"), "articles"),
    Metric("article.share", _("Article shares"), "articles"),
    Metric("api.calls", _("API calls"), "api"),
    Metric("api.fails", _("Failed API calls"), "api"),
    # our own figures, rolled up daily from our logs
    Metric("msg.inbound", _("Messages received"), "messages"),
    Metric("msg.inbound.users", _("Users who wrote"), "messages"),
    Metric("menu.click", _("Menu button clicks"), "menu", split=_("by button key")),
    Metric("menu.view", _("Menu links opened"), "menu", split=_("by link")),
    Metric("keyword.hit", _("Keyword rules hit"), "replies", split=_("by rule")),
    Metric("reply.sent", _("Replies sent by staff"), "replies"),
    Metric("reply.users", _("Users answered"), "replies"),
    Metric("reply.response.count", _("Replies to waiting users"), "replies"),
    Metric("reply.response.seconds", _("Response time, total seconds"), "replies"),
    Metric("qr.scan", _("QR code scans"), "qr", split=_("by code")),
    Metric("qr.subscribe", _("Follows by QR code"), "qr", split=_("by code")),
    Metric("template.sent", _("Template messages sent"), "templates"),
    Metric("template.delivered", _("Template messages delivered"), "templates"),
    Metric("template.failed", _("Template messages failed"), "templates"),
)
BY_KEY = {metric.key: metric for metric in METRICS}
#: hidden from the tables (they make the average response time)
HIDDEN = frozenset({"reply.response.seconds"})
#: the charts drawn on each page, in order
CHARTED = ("user.new", "user.cancel", "user.cumulate", "msg.inbound", "menu.click", "article.read")


def metric(key: str) -> Metric:
    return BY_KEY.get(key) or Metric(key, key, "other")
