"""Dashboard panels: inbound messages per day for the accounts the user may see."""

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from .conversations.dashboard import conversation_attention, conversation_panels
from .selectors import RECEIVED_TODAY, message_counts_per_day


def panels(request: HttpRequest) -> list[dict[str, Any]]:
    """The message-log panels, then the conversation workspace's."""
    return message_log_panels(request) + conversation_panels(request)


def message_log_panels(request: HttpRequest) -> list[dict[str, Any]]:
    if not request.user.has_perm("messaging.view_inboundmessage"):
        return []
    counts = message_counts_per_day(user=request.user, days=14)
    return [
        {
            "title": _("Messages"),
            "items": [
                # the value from the daily rollup, the link through the same day's line
                RECEIVED_TODAY.item(counts[-1][1], reverse("admin:messaging_inboundmessage_changelist")),
                {"label": _("Last 14 days"), "value": sum(n for _day, n in counts)},
            ],
        },
        {
            "title": _("Messages received per day"),
            "chart": {
                "labels": [day.strftime("%m-%d") for day, _n in counts],
                "values": [n for _day, n in counts],
            },
        },
    ]


def attention(request: HttpRequest) -> list[dict[str, Any]]:
    return conversation_attention(request)
