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
                {
                    "label": _("Menus that differ from WeChat"),
                    "value": counts["drifted"],
                    "url": f"{menus}?drift_status__exact=drifted",
                    "tone": "warning" if counts["drifted"] else "",
                },
                {
                    "label": _("Publications pending"),
                    "value": counts["pending"],
                    "url": f"{versions}?status__exact=pending",
                    "tone": "info" if counts["pending"] else "",
                },
                {
                    "label": _("Publications failed (7 days)"),
                    "value": counts["failed"],
                    "url": f"{versions}?status__exact=failed",
                    "tone": "danger" if counts["failed"] else "",
                },
                {
                    "label": _("Menus published (7 days)"),
                    "value": counts["published"],
                    "url": f"{versions}?status__exact=published",
                },
            ],
        }
    ]
