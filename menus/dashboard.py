"""Dashboard panel: menus that differ from WeChat, publications pending or failed."""

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from . import selectors


def panels(request: HttpRequest) -> list[dict[str, Any]]:
    user = request.user
    if not user.has_perm("menus.view_menu"):
        return []
    counts = selectors.dashboard_counts(user)
    menus = reverse("admin:menus_menu_changelist")
    versions = reverse("admin:menus_menuversion_changelist")
    return [
        {
            "title": _("Custom menus"),
            "items": [
                selectors.DRIFTED.item(counts["drifted"], menus),
                *(figure.item(counts[figure.key], versions) for figure in selectors.VERSION_FIGURES),
            ],
        }
    ]


def attention(request: HttpRequest) -> list[dict[str, Any]]:
    """Menu publications that failed in the last 7 days, one per account (its latest)."""
    if not request.user.has_perm("menus.view_menu"):
        return []
    return [
        {
            "account": version.menu.account.name,
            "text": _("Menu publication failed"),
            "when": version.finished_at,
            "url": reverse("admin:menus_menuversion_change", args=[version.pk]),
            "tone": "danger",
        }
        for version in selectors.failed_publications(request.user)
    ]
