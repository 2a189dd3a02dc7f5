"""The content section of the account hub (accounts/hub.py): the library, the drafts and the
last publication."""

from __future__ import annotations

from typing import Any

from django.db.models import Count
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.hub import changelist_for, local
from accounts.models import OfficialAccount

from .models import Draft, DraftStatus, Material, Publication, PublicationStatus

TONES: dict[str, str] = {
    PublicationStatus.PUBLISHED: "success",
    PublicationStatus.FAILED: "danger",
    PublicationStatus.UNKNOWN: "warning",
    PublicationStatus.PUBLISHING: "warning",
    PublicationStatus.SUBMITTING: "warning",
    PublicationStatus.WITHDRAWN: "warning",
}


def hub_sections(request: HttpRequest, account: OfficialAccount) -> list[dict[str, Any]]:
    if not request.user.has_perm("content.view_draft") and not request.user.has_perm("content.view_material"):
        return []
    kinds = dict(
        Material.objects.filter(account=account).values_list("kind").annotate(n=Count("id")).order_by()
    )
    drafts = dict(
        Draft.objects.filter(account=account).values_list("status").annotate(n=Count("id")).order_by()
    )
    waiting = sum(drafts.get(s, 0) for s in (DraftStatus.LOCAL, DraftStatus.CHANGED, DraftStatus.FAILED))
    items: list[dict[str, Any]] = [
        {
            "label": _("Materials"),
            "value": _("%(image)s images, %(voice)s voice, %(video)s videos, %(thumb)s thumbnails")
            % {k: kinds.get(k, 0) for k in ("image", "voice", "video", "thumb")},
            "tone": "",
        },
        {
            "label": _("Drafts"),
            "value": _("%(total)s drafts, %(synced)s on WeChat, %(waiting)s not sent")
            % {
                "total": sum(drafts.values()),
                "synced": drafts.get(DraftStatus.SYNCED, 0),
                "waiting": waiting,
            },
            "tone": "warning" if drafts.get(DraftStatus.FAILED) or drafts.get(DraftStatus.UNKNOWN) else "",
        },
    ]
    last = Publication.objects.filter(account=account).order_by("-created_at").first()
    if last is not None:
        items.append(
            {
                "label": _("Last publication"),
                "value": f"{last.title} · {last.get_status_display()} · {local(last.created_at)}"
                + (f" — {last.error}" if last.error else ""),
                "tone": TONES.get(last.status, ""),
            }
        )
    links = [
        {"label": _("New draft"), "url": f"{reverse('admin:content_draft_add')}?account={account.pk}"},
        {"label": _("Drafts"), "url": changelist_for("content.draft", account__id__exact=account.pk)},
        {"label": _("Materials"), "url": changelist_for("content.material", account__id__exact=account.pk)},
        {
            "label": _("Publications"),
            "url": changelist_for("content.publication", account__id__exact=account.pk),
        },
    ]
    return [{"key": "content", "title": _("Content"), "order": 45, "items": items, "links": links}]
