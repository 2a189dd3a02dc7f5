"""The audience's section of the account hub (accounts/hub.py): followers as of the last
sync, tags, the sync's state, and the daily API quota of the calls the audience makes
(``openapi/quota/get``). The hub page never waits on WeChat: it shows the quota last read
(``services.cached_quotas``, kept 10 minutes), which a link reads again
(``services.read_quotas``, the follower admin's ``quota/<account>/`` view) and every finished
follower sync refreshes."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.hub import changelist_for, local
from accounts.models import OfficialAccount

from . import services
from .models import SyncRun, Tag


def hub_sections(request: HttpRequest, account: OfficialAccount) -> list[dict[str, Any]]:
    if not request.user.has_perm("audience.view_follower"):
        return []
    last = SyncRun.objects.filter(account=account).first()
    items: list[dict[str, Any]] = [
        {
            "label": _("Followers (WeChat, last sync)"),
            "value": f"{last.total:,}" if last else _("not synced yet"),
            "tone": "" if last else "warning",
        },
        {"label": _("Tags"), "value": Tag.objects.filter(account=account).count()},
    ]
    if last is not None:
        items.append(
            {
                "label": _("Last sync"),
                "value": f"{last.get_status_display()} · {last.progress}% · {local(last.started_at)}",
                "tone": {"done": "success", "paused": "warning"}.get(last.status, ""),
            }
        )
    quotas = services.cached_quotas(account)
    if quotas is None:
        items.append({"label": _("API quota today"), "value": _("not read in the last 10 minutes")})
    elif isinstance(quotas, str):
        items.append({"label": _("API quota today"), "value": quotas, "tone": "warning"})
    else:
        for path, quota in quotas.items():
            items.append(
                {
                    "label": _("Quota today: %(api)s") % {"api": path.removeprefix("/cgi-bin/")},
                    "value": _("%(used)s of %(limit)s used, %(remain)s left")
                    % {"used": quota["used"], "limit": quota["daily_limit"], "remain": quota["remain"]},
                    "tone": "danger" if not quota["remain"] else "",
                }
            )
    mine = {"account__id__exact": account.pk}
    links = [
        {
            "label": _("Read the API quota from WeChat"),
            "url": reverse("admin:audience_quota", args=[account.pk]),
        },
        {"label": _("Followers"), "url": changelist_for("audience.follower", **mine)},
        {"label": _("Tags"), "url": changelist_for("audience.tag", **mine)},
        {"label": _("Follower syncs"), "url": changelist_for("audience.syncrun", **mine)},
    ]
    return [{"key": "audience", "title": _("Audience"), "order": 60, "items": items, "links": links}]
