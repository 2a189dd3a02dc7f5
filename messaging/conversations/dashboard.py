"""Dashboard panel of the conversation workspace: users waiting for an answer."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from .selectors import unanswered_count


def conversation_panels(request: HttpRequest) -> list[dict[str, Any]]:
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
