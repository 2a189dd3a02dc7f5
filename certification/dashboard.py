"""Dashboard panels: what needs action, unread notifications, fees paid per month."""

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from . import selectors


def panels(request: HttpRequest) -> list[dict[str, Any]]:
    user = request.user
    if not user.has_perm("certification.view_order"):
        return []
    counts = selectors.action_needed_counts(user)
    changelist = reverse("admin:certification_order_changelist")
    items = [
        {
            "label": _("Awaiting payment"),
            "value": counts["awaiting_payment"],
            "url": f"{changelist}?status__exact=awaiting_payment",
            "tone": "warning" if counts["awaiting_payment"] else "",
        },
        {
            "label": _("In review past the due date"),
            "value": counts["review_overdue"],
            "url": f"{changelist}?status__exact=in_review&deadline=overdue",
            "tone": "danger" if counts["review_overdue"] else "",
        },
        {
            "label": _("Rejected, to resubmit (within 7 days: %(n)d)") % {"n": counts["resubmit_soon"]},
            "value": counts["rejected"],
            "url": f"{changelist}?status__exact=rejected",
            "tone": "warning" if counts["resubmit_soon"] else "",
        },
        {
            "label": _("Certifications expiring within 90 days"),
            "value": counts["expiring"],
            "url": f"{changelist}?status__exact=succeeded",
            "tone": "warning" if counts["expiring"] else "",
        },
    ]
    sees_fees = selectors.user_sees_fees(user)
    if sees_fees:
        items.insert(
            3,
            {
                "label": _("Invoices due within 7 days"),
                "value": counts["invoices_due"],
                "url": f"{changelist}?deadline=soon",
                "tone": "warning" if counts["invoices_due"] else "",
            },
        )
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
