"""What WeChat pushed about certifications and what was done with it (read-only)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy
from unfold.admin import ModelAdmin
from unfold.decorators import display

from accounts.scoping import AccountScopedAdminMixin
from certification.models import WeChatEvent


@admin.register(WeChatEvent)
class WeChatEventAdmin(AccountScopedAdminMixin, ModelAdmin):
    """What WeChat pushed about certifications and what was done with it (read-only)."""

    account_path = "account"
    list_display = [
        "received_at",
        "account",
        "event",
        "order_link",
        "expires_on",
        "our_date",
        "date_mismatch",
        "needs_attention",
    ]
    list_filter = ["event", "needs_attention", "date_mismatch"]
    search_fields = ["account__name", "account__appid", "fail_reason", "outcome"]
    list_select_related = ["account", "order"]
    readonly_fields = [
        "account",
        "event",
        "create_time",
        "received_at",
        "order",
        "expires_on",
        "our_date",
        "date_mismatch",
        "needs_attention",
        "fail_reason",
        "outcome",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @display(description=gettext_lazy("order"))
    def order_link(self, record):
        if record.order_id is None:
            return "—"
        url = reverse("admin:certification_order_change", args=[record.order_id])
        return format_html('<a href="{}">#{}</a>', url, record.order_id)
