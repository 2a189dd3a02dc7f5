"""The content section of the account hub (accounts/hub.py): this month's mass sends against
WeChat's limit, sends waiting for approval, the next scheduled send, the last send's outcome."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.hub import changelist_for, local
from accounts.models import OfficialAccount

from .mass import services
from .models import MassSend, MassStatus


def hub_sections(request: HttpRequest, account: OfficialAccount) -> list[dict[str, Any]]:
    if not request.user.has_perm("content.view_masssend"):
        return []
    usage = services.month_usage(account)
    sends = MassSend.objects.filter(account=account)
    waiting = sends.filter(status=MassStatus.AWAITING_APPROVAL).count()
    scheduled = sends.filter(status=MassStatus.SCHEDULED).order_by("scheduled_at").first()
    last = sends.filter(called_at__isnull=False).order_by("-called_at").first()
    items = [
        {
            "label": _("Mass sends to all this month"),
            "value": _("%(used)s of %(limit)s") % {"used": usage.to_all, "limit": usage.limit},
            "tone": "danger"
            if usage.to_all >= usage.limit
            else ("warning" if usage.to_all == usage.limit - 1 else ""),
        },
        {
            "label": _("Awaiting approval"),
            "value": str(waiting),
            "tone": "warning" if waiting else "",
        },
        {
            "label": _("Next scheduled send"),
            "value": f"{local(scheduled.scheduled_at)} · {scheduled.title}" if scheduled else _("none"),
            "tone": "",
        },
    ]
    if last is not None:
        items.append(
            {
                "label": _("Last mass send"),
                "value": f"{local(last.called_at)} · {last.title} · {last.get_status_display()}",
                "tone": {MassStatus.FAILED: "danger", MassStatus.UNKNOWN: "warning"}.get(
                    MassStatus(last.status), ""
                ),
            }
        )
    links = [
        {"label": _("Mass sends"), "url": changelist_for("content.masssend", account__id__exact=account.pk)},
        {"label": _("Content calendar"), "url": reverse("admin:content_calendar") + f"?account={account.pk}"},
    ]
    if request.user.has_perm(services.ADD_PERMISSION):
        links.append({"label": _("Prepare a mass send"), "url": reverse("admin:content_masssend_add")})
    return [
        {"key": "content", "title": _("Content and mass sends"), "order": 45, "items": items, "links": links}
    ]
