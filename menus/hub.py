"""The custom-menu section of the account hub (accounts/hub.py): published, draft, drift."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.hub import changelist_for, local
from accounts.models import OfficialAccount

from .models import DriftStatus, VersionStatus
from .selectors import menu_of

DRIFT_TONES: dict[str, str] = {
    DriftStatus.IN_SYNC: "success",
    DriftStatus.DRIFTED: "warning",
    DriftStatus.MISSING: "warning",
    DriftStatus.ERROR: "danger",
}


def hub_sections(request: HttpRequest, account: OfficialAccount) -> list[dict[str, Any]]:
    if not request.user.has_perm("menus.view_menu"):
        return []
    menu = menu_of(account)
    live = menu.live_version if menu else None
    draft = menu.draft if menu else None
    latest = menu.versions.exclude(status=VersionStatus.DRAFT).first() if menu else None
    items = [
        {
            "label": _("Published menu"),
            "value": (
                _("version %(number)s, %(when)s") % {"number": live.number, "when": local(live.finished_at)}
                if live
                else _("Nothing published yet")
            ),
            "tone": "success" if live else "warning",
        },
        {
            "label": _("Draft"),
            "value": _("unsaved changes waiting to be published") if draft else _("none"),
            "tone": "warning" if draft else "",
        },
    ]
    if menu is not None:
        items.append(
            {
                "label": _("Compared with WeChat"),
                "value": menu.get_drift_status_display(),
                "tone": DRIFT_TONES.get(menu.drift_status, ""),
            }
        )
    if latest is not None and latest.status in (VersionStatus.PENDING, VersionStatus.FAILED):
        items.append(
            {
                "label": _("Last publication"),
                "value": f"#{latest.number} {latest.get_status_display()}"
                + (f" — {latest.errcode} {latest.explanation}" if latest.errcode else ""),
                "tone": "danger" if latest.status == VersionStatus.FAILED else "warning",
            }
        )
    links = [
        {"label": _("Open the menu editor"), "url": reverse("admin:menus_menu_editor", args=[account.pk])},
        {
            "label": _("Menu changes"),
            "url": changelist_for("menus.menuauditentry", account__id__exact=account.pk),
        },
    ]
    return [{"key": "menu", "title": _("Custom menu"), "order": 20, "items": items, "links": links}]
