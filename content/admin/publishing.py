"""Publications: the list of publish jobs (state, URL, refusal in words), read-only, with an
action that asks WeChat for the state now."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from accounts.scoping import AccountScopedAdminMixin
from content import publishing
from content.models import Publication
from core.admin_mixins import ReadOnlyAdminMixin

from .common import VisibleAccountFilter


@admin.register(Publication)
class PublicationAdmin(ReadOnlyAdminMixin, AccountScopedAdminMixin, ModelAdmin):
    list_display = ("title", "account", "status", "article_link", "error", "created_at", "finished_at")
    list_filter = ("status", ("account", VisibleAccountFilter))
    search_fields = ("title", "=publish_id", "=article_id")
    list_select_related = ("account",)
    readonly_fields = (
        "account",
        "draft",
        "title",
        "status",
        "article_link",
        "error",
        "publish_id",
        "publish_status",
        "article_id",
        "fail_idx",
        "media_id",
        "polls",
        "created_by",
        "created_at",
        "finished_at",
    )
    fields = readonly_fields
    actions = ("check_now",)

    @admin.display(description=_("article"))
    def article_link(self, obj: Publication) -> str:
        return (
            format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', obj.url, obj.url)
            if obj.url
            else "—"
        )

    @admin.action(description=_("Ask WeChat for the state of the selected publications now"))
    def check_now(self, request, queryset):
        for publication in queryset:
            publishing.publication_poll(publication.pk)
        self.message_user(request, _("%(n)s publications checked.") % {"n": queryset.count()}, messages.INFO)
