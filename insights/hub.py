"""The insights section of the account hub (accounts/hub.py): the last 7 days' headline figures
against the 7 before, from DailyFigure (one indexed query), and the way to the charts."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import OfficialAccount

from . import metrics
from .figures import Period
from .models import DailyFigure
from .views import VIEW_PERMISSION

HEADLINE = ("user.new", "user.cancel", "msg.inbound", "menu.click")


def hub_sections(request: HttpRequest, account: OfficialAccount) -> list[dict[str, Any]]:
    if not request.user.has_perm(VIEW_PERMISSION):
        return []
    week = Period.last_days(7, today=timezone.localdate())
    before = week.previous()
    sums: dict[tuple[str, bool], int] = {}
    for metric, day, value in DailyFigure.objects.filter(
        account=account, dimension="", metric__in=HEADLINE, day__gte=before.start, day__lte=week.end
    ).values_list("metric", "day", "value"):
        slot = (metric, day >= week.start)
        sums[slot] = sums.get(slot, 0) + value
    items = []
    for key in HEADLINE:
        now, then = sums.get((key, True)), sums.get((key, False))
        shown = (
            "—"
            if now is None
            else f"{now:,}" + (f"（{_('previous 7 days')} {then:,}）" if then is not None else "")
        )
        items.append({"label": metrics.metric(key).label, "value": shown})
    url = reverse("admin:insights_account", args=[account.pk])
    return [
        {
            "key": "insights",
            "title": _("Insights, last 7 days"),
            "order": 90,
            "items": items,
            "links": [
                {"label": _("Charts and figures"), "url": url},
                {
                    "label": _("Monthly client reports"),
                    "url": reverse("admin:insights_report_changelist")
                    + f"?entity__id__exact={account.entity_id}",
                },
            ],
        }
    ]
