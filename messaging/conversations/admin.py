"""Admin of the conversation workspace: the outgoing-message list and the workspace pages.

The workspace's views live in `conversations/views.py`; this registers them under the
admin site (login, staff, the admin's chrome) next to the list of replies sent.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from unfold.admin import ModelAdmin

from accounts.scoping import AccountScopedAdminMixin
from core.admin_mixins import ReadOnlyAdminMixin
from core.permissions import required_permission
from core.queueing import QueueUnavailable

from . import services, views
from .models import OutboundMessage, OutboundStatus


@admin.register(OutboundMessage)
class OutboundMessageAdmin(ReadOnlyAdminMixin, AccountScopedAdminMixin, ModelAdmin):
    """Replies staff sent to users; written through the workspace only, never edited."""

    allow_delete = True  # staff may delete rows of their accounts (scoped below)

    list_display = (
        "created_at",
        "account",
        "thread_link",
        "msg_type",
        "short_summary",
        "kf_account",
        "status",
        "errcode",
        "created_by",
    )
    list_filter = (("account", admin.RelatedOnlyFieldListFilter), "status", "msg_type")
    search_fields = ("openid", "text", "news_title", "kf_account")
    list_select_related = ("account", "created_by")
    date_hierarchy = "created_at"
    readonly_fields = (
        "account",
        "openid",
        "msg_type",
        "text",
        "news_title",
        "news_description",
        "news_url",
        "news_pic_url",
        "media_id",
        "kf_account",
        "status",
        "errcode",
        "errmsg",
        "explanation",
        "attempts",
        "created_by",
        "created_at",
        "sent_at",
    )
    exclude = ("image",)
    actions = ("retry_failed",)
    change_list_template = "messaging/conversations/outbound_change_list.html"

    def has_retry_permission(self, request) -> bool:
        return request.user.has_perm(views.REPLY_PERMISSION)

    @admin.display(description=_("user"), ordering="openid")
    def thread_link(self, obj: OutboundMessage) -> str:
        url = reverse("admin:messaging_workspace_detail", args=[obj.account_id, obj.openid])
        return format_html('<a href="{}">{}</a>', url, Truncator(obj.openid).chars(16))

    @admin.display(description=_("message"))
    def short_summary(self, obj: OutboundMessage) -> str:
        return Truncator(obj.summary).chars(40)

    @admin.action(description=_("Send the failed replies again"), permissions=["retry"])
    def retry_failed(self, request, queryset):
        done = refused = 0
        not_queued = ""
        for message in queryset.filter(status=OutboundStatus.FAILED).select_related("account"):
            try:
                services.outbound_retry(message=message, by=request.user)
                done += 1
            except QueueUnavailable as exc:  # stored as pending: the sweeper queues it
                done += 1
                not_queued = exc.user_message
            except services.ConversationError:
                refused += 1
        if not_queued:
            self.message_user(request, not_queued, messages.WARNING)
        self.message_user(
            request,
            ngettext("%(count)d reply was queued again.", "%(count)d replies were queued again.", done)
            % {"count": done},
            messages.SUCCESS,
        )
        if refused:
            self.message_user(
                request,
                ngettext(
                    "%(count)d reply cannot be sent now: its reply window is closed or used up.",
                    "%(count)d replies cannot be sent now: their reply window is closed or used up.",
                    refused,
                )
                % {"count": refused},
                messages.WARNING,
            )

    def _page(self, view):
        def wrapped(request, *args, **kwargs):
            return view(request, self.admin_site.each_context(request), *args, **kwargs)

        # the view's permission, for the sidebar (not functools.wraps: another signature)
        wrapped.required_permission = required_permission(view)  # type: ignore[attr-defined]
        return self.admin_site.admin_view(wrapped)

    def get_urls(self):
        admin_view = self.admin_site.admin_view
        return [
            path("conversations/", self._page(views.conversation_list), name="messaging_workspace"),
            path(
                "conversations/<int:account_pk>/<str:openid>/",
                self._page(views.conversation_detail),
                name="messaging_workspace_detail",
            ),
            path(
                "conversations/<int:account_pk>/<str:openid>/poll/",
                admin_view(views.conversation_poll),
                name="messaging_workspace_poll",
            ),
            path(
                "conversations/<int:account_pk>/<str:openid>/send/",
                admin_view(views.conversation_send),
                name="messaging_workspace_send",
            ),
            path("retry/<int:pk>/", admin_view(views.outbound_retry), name="messaging_workspace_retry"),
        ] + super().get_urls()
