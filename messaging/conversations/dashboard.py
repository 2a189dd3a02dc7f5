"""Dashboard panel of the conversation workspace: users waiting for an answer."""

from __future__ import annotations

import datetime
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from .selectors import closing_soon, unanswered_count

#: a waiting user appears on "attention today" when their window closes within this many hours
ATTENTION_HOURS = 6


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
                    "url": f"{url}?state=waiting",  # the list's rows by the same condition
                    "figure": "waiting",
                    "tone": "warning" if waiting else None,
                },
            ],
        }
    ]


def conversation_attention(request: HttpRequest) -> list[dict[str, Any]]:
    """Users waiting for an answer whose 48-hour window closes within ATTENTION_HOURS."""
    if not request.user.has_perm("messaging.view_outboundmessage"):
        return []
    return [
        {
            "account": row.account.name,
            "text": _("Unanswered: the reply window closes at %(time)s")
            % {"time": timezone.localtime(row.window_closes_at).strftime("%H:%M")},
            "when": row.window_closes_at,
            "url": reverse("admin:messaging_workspace_detail", args=[row.account_id, row.openid]),
            "tone": "danger",
        }
        for row in closing_soon(user=request.user, within=datetime.timedelta(hours=ATTENTION_HOURS))
    ]
