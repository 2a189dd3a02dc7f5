"""Dashboard panels of the accounts app (see wxadmin/dashboard.py)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .models import TokenState
from .selectors import token_state_counts


def panels(request: HttpRequest) -> list[dict[str, Any]]:
    return token_panels(request)


def token_panels(request: HttpRequest) -> list[dict[str, Any]]:
    """Token health of the user's accounts (R-MENU-04)."""
    if not request.user.has_perm("accounts.view_officialaccount"):
        return []
    counts = token_state_counts(user=request.user)
    url = reverse("admin:accounts_accounttokenstatus_changelist")
    tones = {
        TokenState.FAILING: "danger",
        TokenState.EXPIRED: "danger",
        TokenState.EXPIRING: "warning",
        TokenState.VALID: "success",
    }
    return [
        {
            "title": str(_("Access tokens")),
            "items": [
                {
                    "label": str(state.label),
                    "value": counts[state.value],
                    "url": url,
                    **({"tone": tones[state]} if state in tones else {}),
                }
                for state in TokenState
            ],
        }
    ]
