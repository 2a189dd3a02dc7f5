"""What certification adds to the official-account admin: the badge column and an action."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from django.contrib import admin, messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin
    from django.db.models import QuerySet

    from accounts.models import OfficialAccount
    from core.typing import AuthenticatedHttpRequest  # an admin action: never anonymous

EXPIRING_WITHIN_DAYS = 90


def badge_state(
    certified_until: datetime.date | None, today: datetime.date | None = None
) -> tuple[str, int | None]:
    """R-CERT-16 / R-POST-02: ("certified" | "expiring" | "none", days left)."""
    today = today or timezone.localdate()
    if certified_until is None or certified_until < today:
        return "none", None
    left = (certified_until - today).days
    return ("expiring" if left <= EXPIRING_WITHIN_DAYS else "certified"), left


def certification_badge(account: OfficialAccount) -> str:
    """R-CERT-16: the certification badge, read from `certified_until` (no extra query)."""
    state, left = badge_state(account.certified_until)
    if state == "none":
        return format_html(
            '<span class="cert-badge cert-none" style="color:#6b7280">{}</span>', _("Not certified")
        )
    if state == "expiring":
        return format_html(
            '<span class="cert-badge cert-expiring" style="color:#b45309;font-weight:600" '
            'title="{}">⚠ {}</span>',
            account.certified_until,
            _("Expires in %(days)d days") % {"days": left},
        )
    return format_html(
        '<span class="cert-badge cert-ok" style="color:#15803d;font-weight:600" title="{}">✔ {}</span>',
        account.certified_until,
        _("Certified until %(date)s (%(days)d days left)") % {"date": account.certified_until, "days": left},
    )


@admin.action(description=gettext_lazy("Start the annual review (certification)"))
def start_annual_review(
    modeladmin: ModelAdmin[OfficialAccount],
    request: AuthenticatedHttpRequest,
    queryset: QuerySet[OfficialAccount],
) -> None:
    """R-POST-03: open a pre-filled annual-review order for each selected account."""
    from .services.creation import annual_review_is_early, order_create
    from .services.errors import CertificationError

    if not request.user.has_perm("certification.add_order"):
        modeladmin.message_user(request, _("You may not create certification orders."), messages.ERROR)
        return
    created = refused = 0
    for account in queryset:
        try:
            order_create(account=account, kind="annual_review", by=request.user)
            created += 1
        except CertificationError as exc:
            refused += 1
            text = exc.user_message
            if annual_review_is_early(account=account, today=timezone.localdate()):
                # R-POST-02: early is allowed, but only once confirmed on the account's page.
                url = reverse("admin:certification_order_start_annual", args=[account.pk])
                modeladmin.message_user(
                    request,
                    format_html('{}: {} <a href="{}">{}</a>', account, text, url, _("Confirm on its page")),
                    messages.WARNING,
                )
                continue
            modeladmin.message_user(request, f"{account}: {text}", messages.WARNING)
    if created:
        modeladmin.message_user(
            request,
            ngettext(
                "%(count)d annual-review order created.", "%(count)d annual-review orders created.", created
            )
            % {"count": created},
            messages.SUCCESS,
        )
    if refused:
        modeladmin.message_user(
            request,
            ngettext("%(count)d account refused.", "%(count)d accounts refused.", refused)
            % {"count": refused},
            messages.WARNING,
        )
