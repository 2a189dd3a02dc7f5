"""The follower beside a conversation (messaging's conversation page, issue 24): remark (with
a link to edit it), tags by name, subscription, the code that brought them, blacklist, and
first / last interaction. Two indexed queries; nothing for a user without the audience's
view permission."""

from __future__ import annotations

import datetime
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from accounts.models import OfficialAccount

from .models import Follower, Tag


def _when(moment: datetime.datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "—"


def conversation_panels(request: HttpRequest, account: OfficialAccount, openid: str) -> list[dict[str, Any]]:
    if not request.user.has_perm("audience.view_follower"):
        return []
    follower = (
        Follower.objects.filter(account=account, openid=openid)
        .select_related("qr_code")
        .prefetch_related("tag_links")
        .first()
    )
    title = _("Follower")
    if follower is None:
        return [
            {
                "title": title,
                "items": [
                    {"label": _("Follower"), "value": _("Not in the follower list yet (sync the followers).")}
                ],
                "links": [],
            }
        ]
    names = dict(Tag.objects.filter(account=account).values_list("wechat_id", "name"))
    tags = [names.get(tag_id, f"#{tag_id}") for tag_id in follower.tag_ids]
    subscribed = (
        _("yes, since %(when)s") % {"when": _when(follower.subscribe_time)}
        if follower.subscribed
        else _("no (unsubscribed %(when)s)") % {"when": _when(follower.unsubscribed_at)}
    )
    items = [
        {"label": _("Remark"), "value": follower.remark or "—"},
        {"label": _("Tags"), "value": "、".join(tags) or "—"},
        {"label": _("Subscribed"), "value": subscribed},
        {"label": _("subscribe scene"), "value": follower.subscribe_scene or "—"},
        {"label": _("brought by QR code"), "value": str(follower.qr_code or "—")},
        {"label": _("blacklisted"), "value": _("yes") if follower.blacklisted else _("no")},
        {"label": _("first interaction"), "value": _when(follower.first_interaction_at)},
        {"label": _("last interaction"), "value": _when(follower.last_interaction_at)},
    ]
    here = request.get_full_path()
    links = [
        {
            "label": _("Show in the follower list"),
            "url": reverse("admin:audience_follower_changelist")
            + "?"
            + urlencode({"account__id__exact": str(account.pk), "q": openid}),
        }
    ]
    if request.user.has_perm("audience.change_follower"):
        links.insert(
            0,
            {
                "label": _("Edit the remark"),
                "url": reverse("admin:audience_follower_remark", args=[follower.pk])
                + "?"
                + urlencode({"next": here}),
            },
        )
    return [{"title": title, "items": items, "links": links}]
