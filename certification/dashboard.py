"""Dashboard panels: what needs action, unread notifications, fees paid per month."""

import datetime
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from . import selectors
from .models import OrderStatus


def panels(request: HttpRequest) -> list[dict[str, Any]]:
    user = request.user
    if not user.has_perm("certification.view_order"):
        return []
    counts = selectors.action_needed_counts(user)
    changelist = reverse("admin:certification_order_changelist")
    shown = [selectors.AWAITING_PAYMENT, selectors.REVIEW_OVERDUE, selectors.REJECTED, selectors.EXPIRING]
    sees_fees = selectors.user_sees_fees(user)
    if sees_fees:
        shown.insert(3, selectors.INVOICES_DUE)
    items = [figure.item(counts[figure.key], changelist) for figure in shown]
    rejected_item = items[2]
    soon = counts["resubmit_soon"]
    rejected_item["label"] = _("Rejected, to resubmit (within 7 days: %(n)d)") % {"n": soon}
    rejected_item["tone"] = "warning" if soon else ""
    result: list[dict[str, object]] = [{"title": _("Certification: needs action"), "items": items}]
    rejected = selectors.rejected_with_days_left(user, limit=5)
    if rejected:
        result.append(
            {
                "title": _("Rejected orders: days left to resubmit"),
                "rows": {
                    "headers": [_("Order"), _("Account"), _("Resubmit by"), _("Days left")],
                    "rows": [
                        [f"#{order.pk}", order.account_name, order.resubmission_deadline, left]
                        for order, left in rejected
                    ],
                },
            }
        )
    unread = list(selectors.unread_notifications(user).order_by("-created_at")[:5])
    if unread:
        notifications = reverse("admin:certification_notification_changelist")
        result.append(
            {
                "title": _("Certification reminders"),
                "items": [
                    {
                        "label": n.title,
                        "value": n.due_on.isoformat() if n.due_on else "",
                        "url": reverse("admin:certification_notification_change", args=[n.pk]),
                        "tone": "info",
                    }
                    for n in unread
                ]
                + [{"label": _("All notifications"), "value": "", "url": notifications}],
            }
        )
    if sees_fees:
        months = selectors.fees_paid_per_month(user)
        result.append(
            {
                "title": _("Certification fees paid per month (CNY)"),
                "chart": {
                    "labels": [label for label, _total in months],
                    "values": [total for _label, total in months],
                },
            }
        )
    return result


def attention(request: HttpRequest) -> list[dict[str, Any]]:
    """Certifications ending within 90 days, reviews past due, resubmissions due (R-CERT-12)."""
    user = request.user
    if not user.has_perm("certification.view_order"):
        return []
    items = []
    for order, due in selectors.attention_orders(user):
        url = reverse("admin:certification_order_change", args=[order.pk])
        if order.status == OrderStatus.SUCCEEDED:
            text, tone = _("Certification ends on %(day)s"), "warning"
        elif order.status == OrderStatus.REJECTED:
            text, tone = _("Resubmit by %(day)s"), "danger"
        else:
            text, tone = _("Review was due on %(day)s"), "danger"
        items.append(
            {
                "account": order.account_name,
                "text": text % {"day": due},
                "when": _end_of(due),
                "url": url,
                "tone": tone,
            }
        )
    return items


def _end_of(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.max, tzinfo=timezone.get_current_timezone())
