"""Each staff member's in-admin notifications, and the proof of every reminder sent."""

from __future__ import annotations

from django.contrib import admin, messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from unfold.admin import ModelAdmin
from unfold.decorators import display

from accounts.scoping import AccountScopedAdminMixin
from certification.models import Notification, Reminder
from core.parsing import id_or_none


@admin.register(Notification)
class NotificationAdmin(ModelAdmin):
    """Each staff member sees only their own notifications."""

    list_display = ["title", "milestone", "due_on", "created_at", "is_read_display", "link"]
    list_filter = ["milestone", ("read_at", admin.EmptyFieldListFilter)]
    search_fields = ["title", "body"]
    list_select_related = ["order"]
    readonly_fields = ["user", "order", "milestone", "title", "body", "due_on", "created_at", "read_at"]
    actions = ["mark_read", "mark_unread"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(user=request.user)

    def has_view_permission(self, request, obj=None):
        return (
            request.user.is_active
            and request.user.is_staff
            and (obj is None or obj.user_id == request.user.pk)
        )

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return obj is not None and obj.user_id == request.user.pk

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if id_or_none(object_id) is not None:  # issue 22 §7: /notification/abc/change/ was a 500
            Notification.objects.filter(pk=object_id, user=request.user, read_at__isnull=True).update(
                read_at=timezone.now()
            )
        return super().change_view(request, object_id, form_url, extra_context)

    @display(description=gettext_lazy("read"), boolean=True)
    def is_read_display(self, notification):
        return notification.is_read

    @display(description=gettext_lazy("open"))
    def link(self, notification):
        if notification.order_id is None:
            return "—"
        if notification.milestone == "annual_review":
            url = reverse("admin:certification_order_start_annual", args=[notification.order.account_id])
            return format_html('<a href="{}">{}</a>', url, _("Start the annual review"))
        url = reverse("admin:certification_order_change", args=[notification.order_id])
        return format_html('<a href="{}">#{}</a>', url, notification.order_id)

    @admin.action(description=gettext_lazy("Mark as read"))
    def mark_read(self, request, queryset):
        count = queryset.filter(read_at__isnull=True).update(read_at=timezone.now())
        self.message_user(
            request,
            ngettext(
                "%(count)d notification marked as read.", "%(count)d notifications marked as read.", count
            )
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=gettext_lazy("Mark as unread"))
    def mark_unread(self, request, queryset):
        count = queryset.exclude(read_at__isnull=True).update(read_at=None)
        self.message_user(
            request,
            ngettext(
                "%(count)d notification marked as unread.", "%(count)d notifications marked as unread.", count
            )
            % {"count": count},
            messages.SUCCESS,
        )


@admin.register(Reminder)
class ReminderAdmin(AccountScopedAdminMixin, ModelAdmin):
    """The proof of each reminder sent (one per order and milestone)."""

    account_path = "order__account"
    list_display = ["order", "milestone", "due_on", "sent_at", "recipients"]
    list_filter = ["milestone"]
    list_select_related = ["order"]
    search_fields = ["order__account_name", "order__account__name"]
    raw_id_fields = ["order"]
    readonly_fields = ["order", "milestone", "due_on", "sent_at", "recipients"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
