"""The content sections of the account hub (accounts/hub.py): the library, the drafts and the
last publication; this month's mass sends against WeChat's limit, sends waiting for approval, the
next scheduled send and the last send's outcome."""

from __future__ import annotations

from typing import Any

from django.db.models import Count
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.hub import changelist_for, local
from accounts.models import OfficialAccount

from .mass import services
from .models import Draft, DraftStatus, MassSend, MassStatus, Material, Publication, PublicationStatus


def hub_sections(request: HttpRequest, account: OfficialAccount) -> list[dict[str, Any]]:
    return library_sections(request, account) + mass_sections(request, account)


TONES: dict[str, str] = {
    PublicationStatus.PUBLISHED: "success",
    PublicationStatus.FAILED: "danger",
    PublicationStatus.UNKNOWN: "warning",
    PublicationStatus.PUBLISHING: "warning",
    PublicationStatus.SUBMITTING: "warning",
    PublicationStatus.WITHDRAWN: "warning",
}


def library_sections(request: HttpRequest, account: OfficialAccount) -> list[dict[str, Any]]:
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


def mass_sections(request: HttpRequest, account: OfficialAccount) -> list[dict[str, Any]]:
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
    return [{"key": "mass", "title": _("Mass sends"), "order": 46, "items": items, "links": links}]
