"""Dashboard panels of the accounts app (see wxadmin/dashboard.py)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .selectors import TOKEN_FIGURES, token_state_counts


def panels(request: HttpRequest) -> list[dict[str, Any]]:
    return token_panels(request)


def token_panels(request: HttpRequest) -> list[dict[str, Any]]:
    """Token health of the user's accounts (R-MENU-04); each figure opens the account list
    filtered by the same condition (issue 29 §4)."""
    if not request.user.has_perm("accounts.view_officialaccount"):
        return []
    counts = token_state_counts(user=request.user)
    url = reverse("admin:accounts_officialaccount_changelist")
    return [
        {
            "title": str(_("Access tokens")),
            "items": [
                figure.item(counts[figure.key.removeprefix("token_")], url) for figure in TOKEN_FIGURES
            ],
        }
    ]
