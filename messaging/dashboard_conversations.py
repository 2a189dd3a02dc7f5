"""Dashboard panel of the conversation workspace: users waiting for an answer."""

from __future__ import annotations

from collections.abc import Callable

from django.urls import reverse
from django.utils.translation import gettext as _

from .selectors_conversations import unanswered_count


def conversation_panels(request) -> list[dict]:
    if not request.user.has_perm("messaging.view_outboundmessage"):
        return []
    url = reverse("admin:messaging_workspace")
    waiting = unanswered_count(user=request.user)
    return [
        {
            "title": _("Conversations"),
            "items": [
                {
                    "label": _("Waiting for an answer (window open)"),
                    "value": waiting,
                    "url": f"{url}?state=unanswered",
                    "tone": "warning" if waiting else None,
                },
            ],
        }
    ]


def with_conversation_panel(panels: Callable) -> Callable:
    """The message-log panels followed by the conversation panel."""

    def combined(request) -> list[dict]:
        return panels(request) + conversation_panels(request)

    return combined
