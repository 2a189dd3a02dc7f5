"""The certification section of the account hub (accounts/hub.py): badge, order, deadlines.

The order pages themselves are the certification admin's; the hub links to them.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.hub import changelist_for
from accounts.models import OfficialAccount

from .admin_account import badge_state
from .models import Order
from .selectors import deadline_tone

BADGE_TONES = {"certified": "success", "expiring": "warning", "none": ""}


def _deadline_label(field: str) -> str:
    labels = {
        "review_due_on": _("Review due"),
        "resubmission_deadline": _("Resubmit by"),
        "invoice_request_deadline": _("Request a missing invoice by"),
        "invoice_expected_by": _("Invoice expected by"),
        "valid_until": _("Certified until"),
    }
    return labels[field]


def hub_sections(request: HttpRequest, account: OfficialAccount) -> list[dict[str, Any]]:
    """R-CERT-16 badge, the open (else latest) order and its deadlines with days left."""
    if not request.user.has_perm("certification.view_order"):
        return []
    state, left = badge_state(account.certified_until)
    badge = {
        "certified": _("Certified until %(date)s (%(days)d days left)"),
        "expiring": _("Expires in %(days)d days"),
        "none": _("Not certified"),
    }[state] % {"date": account.certified_until, "days": left}
    items = [{"label": _("Badge"), "value": badge, "tone": BADGE_TONES[state]}]
    orders = Order.objects.filter(account=account)
    order = orders.open().order_by("-created_at").first() or orders.order_by("-created_at").first()
    links = [
        {
            "label": _("Orders of this account"),
            "url": changelist_for("certification.order", account__id__exact=account.pk),
        }
    ]
    if order is None:
        items.append({"label": _("Order"), "value": _("none yet")})
    else:
        items.append(
            {
                "label": _("Order"),
                "url": reverse("admin:certification_order_change", args=[order.pk]),
                "value": f"#{order.pk} {order.get_kind_display()} · {order.get_status_display()}",
            }
        )
        # Issue 29: only the live ones — one rule with the order list and page.
        for field, due in order.live_deadlines().items():
            days = order.days_left(field)
            if days is None:  # never: `due` is set; said for the type checker
                continue
            items.append(
                {
                    "label": _deadline_label(field),
                    "tone": deadline_tone(due),
                    "value": _("%(date)s (%(days)d days left)") % {"date": due, "days": days}
                    if days >= 0
                    else _("%(date)s (%(days)d days overdue)") % {"date": due, "days": -days},
                }
            )
        links.insert(
            0,
            {
                "label": _("Open order #%(id)s") % {"id": order.pk},
                "url": reverse("admin:certification_order_change", args=[order.pk]),
            },
        )
    if state != "certified" and request.user.has_perm("certification.add_order"):
        links.append(
            {
                "label": _("New order"),
                "url": reverse("admin:certification_order_add") + f"?account={account.pk}",
            }
        )
    return [
        {
            "key": "certification",
            "title": _("WeChat certification"),
            "order": 30,
            "items": items,
            "links": links,
        }
    ]
