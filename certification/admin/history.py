"""The order page's history inline: who did what, when and why."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.admin import TabularInline
from unfold.decorators import display

from certification import selectors
from certification.models import OrderEvent, OrderStatus


class OrderEventInline(TabularInline):
    """The history in words: what happened, the status change, who (or WeChat), why."""

    model = OrderEvent
    extra = 0
    can_delete = False
    fields = ["at", "what", "status_change", "who", "details"]
    readonly_fields = fields
    verbose_name_plural = gettext_lazy("History (who, when, why)")

    def get_queryset(self, request):
        # The details name checklist items by the order's subtype (issue 29).
        return super().get_queryset(request).select_related("order")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @display(description=gettext_lazy("what happened"))
    def what(self, event):
        return event.action_label

    @display(description=gettext_lazy("status"))
    def status_change(self, event):
        if not event.to_status or event.from_status == event.to_status:
            return "—"
        labels = dict(OrderStatus.choices)
        if not event.from_status:
            return labels.get(event.to_status, "—")
        return f"{labels.get(event.from_status, '—')} → {labels.get(event.to_status, '—')}"

    @display(description=gettext_lazy("by"))
    def who(self, event):
        if event.by_wechat:
            return _("WeChat")
        return event.by or _("the system")

    @display(description=gettext_lazy("why / details"))
    def details(self, event):
        return selectors.event_details(event)
