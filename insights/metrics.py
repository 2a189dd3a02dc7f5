"""What each metric key in ``DailyFigure`` means, for the pages, exports and the report.

WeChat's keys (source "wechat") are written by the datacube sync; ours (source "own") by
``insights.rollups`` from each app's ``daily_figures``. A key found in the table but not listed
here is still shown, under its key. ``kind`` says how days add up over a period: "sum" (new
followers, clicks) or "last" (total followers: the last day's value).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


@dataclass(frozen=True)
class Metric:
    key: str
    label: str | Promise
    group: str
    kind: str = "sum"  # "sum", "last" or "max"
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
    "api": _("Callbacks from WeChat"),
}

METRICS: tuple[Metric, ...] = (
    # WeChat's statistics (datacube), synced daily by insights.wechat_sync (its keys)
    Metric("user.new", _("New followers"), "followers", split=_("by source")),
    Metric("user.cancel", _("Unfollows"), "followers", split=_("by source")),
    Metric("user.net", _("Net growth"), "followers"),
    Metric("user.cumulate", _("Total followers"), "followers", kind="last"),
    Metric("msg.upstream.count", _("Messages from users (WeChat)"), "messages", split=_("by message type")),
    # per message type only: users of several types overlap, WeChat gives no total
    Metric(
        "msg.upstream.users", _("Users who sent messages (WeChat)"), "messages", split=_("by message type")
    ),
    # WeChat's distribution of users by how many messages each sent that day (getupstreammsgdist)
    Metric(
        "msg.upstream.dist",
        _("Users by messages sent in a day (WeChat)"),
        "messages",
        split=_("by messages sent"),
    ),
    Metric("article.read_user", _("Article readers"), "articles", split=_("by source")),
    # per article (getarticleread / getarticleshare): only split, the totals are the two above
    Metric("article.item.read_user", _("Readers per article"), "articles", split=_("by article")),
    Metric("article.item.share_user", _("Sharers per article"), "articles", split=_("by article")),
    Metric("article.share_user", _("Article sharers"), "articles"),
    Metric("article.zaikan_user", _("Article 'wow' (在看)"), "articles"),
    Metric("article.like_user", _("Article likes"), "articles"),
    Metric("article.comment_count", _("Article comments"), "articles"),
    Metric("api.callback.count", _("Callbacks WeChat sent us"), "api"),
    Metric("api.callback.fail", _("Callbacks that failed"), "api"),
    Metric("api.callback.time_total_ms", _("Callback time, total (ms)"), "api"),
    Metric("api.callback.time_max_ms", _("Callback time, longest (ms)"), "api", kind="max"),
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
HIDDEN = frozenset({"reply.response.seconds", "api.callback.time_total_ms"})
#: the charts drawn on each page, in order
CHARTED = ("user.new", "user.cancel", "user.cumulate", "msg.inbound", "menu.click", "article.read_user")

#: WeChat's codes in a dimension, as staff read them (docs/wechat-protocol.md §h)
DIMENSION_LABELS: dict[str, dict[str, str | Promise]] = {
    "user_source": {
        "0": pgettext_lazy("insights dimension", "other"),
        "1": pgettext_lazy("insights dimension", "search"),
        "17": pgettext_lazy("insights dimension", "business card shared"),
        "30": pgettext_lazy("insights dimension", "QR code"),
        "43": pgettext_lazy("insights dimension", "menu in an article"),
        "51": pgettext_lazy("insights dimension", "after a payment"),
        "57": pgettext_lazy("insights dimension", "account name in an article"),
        "75": pgettext_lazy("insights dimension", "advert in an article"),
        "78": pgettext_lazy("insights dimension", "advert in Moments"),
    },
    "msg_type": {
        "1": pgettext_lazy("insights dimension", "text"),
        "2": pgettext_lazy("insights dimension", "image"),
        "3": pgettext_lazy("insights dimension", "voice"),
        "4": pgettext_lazy("insights dimension", "video"),
        "6": pgettext_lazy("insights dimension", "third-party app message"),
    },
    "count_interval": {
        "0": pgettext_lazy("insights dimension", "no message"),
        "1": pgettext_lazy("insights dimension", "1–5 messages"),
        "2": pgettext_lazy("insights dimension", "6–10 messages"),
        "3": pgettext_lazy("insights dimension", "more than 10 messages"),
    },
}
DIMENSION_KIND = {
    "user.new": "user_source",
    "user.cancel": "user_source",
    "msg.upstream.count": "msg_type",
    "msg.upstream.users": "msg_type",
    "msg.upstream.dist": "count_interval",
}
#: metrics whose dimension is an article's ``msgid`` (``<msg_data_id>_<index>``)
PER_ARTICLE = frozenset({"article.item.read_user", "article.item.share_user"})


def dimension_labeller() -> Callable[[str, str], str]:
    """``label(key, dimension)``: a WeChat code in words (``30`` → 扫描二维码; ``2247490098_2``
    → the publish and the article's place in it), else the dimension as stored. The words are
    translated once here, not once per row: a year of per-article figures is thousands of rows."""
    article = str(_("publish %(id)s, article %(n)s"))
    words = {
        kind: {code: str(label) for code, label in labels.items()}
        for kind, labels in DIMENSION_LABELS.items()
    }

    def label(key: str, dimension: str) -> str:
        if key in PER_ARTICLE:
            publish, _sep, index = dimension.rpartition("_")
            return article % {"id": publish, "n": index} if publish and index.isdigit() else dimension
        return words.get(DIMENSION_KIND.get(key, ""), {}).get(dimension, dimension)

    return label


def dimension_label(key: str, dimension: str) -> str:
    """One dimension in words (see ``dimension_labeller``, for many)."""
    return dimension_labeller()(key, dimension)


def metric(key: str) -> Metric:
    return BY_KEY.get(key) or Metric(key, key, "other")
