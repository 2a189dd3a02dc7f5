"""Admin pages of the API (issue 27): client systems and their keys, JS-SDK domains, the call log.

A key is shown once, on the page that answers its creation or rotation, and never again.
Rotating and revoking ask for confirmation first.
"""

from __future__ import annotations

import datetime

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from accounts.scoping import AccountScopedAdminMixin, ScopedAdminMixin
from core.admin_mixins import ReadOnlyAdminMixin
from core.domain_errors import DomainError

from . import audit, selectors, services
from .models import ApiCall, ClientSystem, JsDomain

#: notifications' send permission, named here so that the admin imports no other app
SEND_TEMPLATES = "notifications.send_template_message"


@admin.register(ClientSystem)
class ClientSystemAdmin(ScopedAdminMixin, ModelAdmin):
    list_display = ["name", "account_list", "state", "rate_limit_per_minute", "expires_at", "last_used"]
    search_fields = ["name", "accounts__name", "accounts__appid", "keys__prefix"]
    list_filter = [("accounts", admin.RelatedOnlyFieldListFilter), ("revoked_at", admin.EmptyFieldListFilter)]
    filter_horizontal = ["accounts"]
    fields = [
        "name",
        "accounts",
        "allowed_ips",
        "rate_limit_per_minute",
        "expires_at",
        "can_send_templates",
        "key_table",
        "revoked_at",
    ]
    readonly_fields = ["key_table", "revoked_at"]

    def get_readonly_fields(self, request, obj=None):
        """Only staff who may send template messages may give a client system that scope."""
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.has_perm(SEND_TEMPLATES):
            fields.append("can_send_templates")
        return fields

    def may_access(self, request, obj) -> bool:
        return obj is None or selectors.clients_visible_to(request.user).filter(pk=obj.pk).exists()

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(pk__in=selectors.clients_visible_to(request.user).values("pk"))
        )

    @admin.display(description=_("official accounts"))
    def account_list(self, obj):
        return ", ".join(account.name for account in obj.accounts.all())

    @admin.display(description=_("state"))
    def state(self, obj):
        if obj.revoked_at:
            return gettext("Revoked")
        return gettext("Active") if obj.is_active else gettext("Expired")

    @admin.display(description=_("last used"))
    def last_used(self, obj):
        return selectors.last_use(obj) or "—"

    @admin.display(description=_("keys"))
    def key_table(self, obj):
        if obj is None or obj.pk is None:
            return gettext("The key is shown once, after saving.")
        rows = format_html_join(
            "",
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    str(key),
                    key.created_at,
                    key.retires_at or "—",
                    key.revoked_at or "—",
                    getattr(key, "last_used_at", None) or "—",
                )
                for key in selectors.keys_with_last_use(obj)
            ),
        )
        links = ""
        if obj.revoked_at is None:
            links = format_html(
                '<p><a class="button" href="{}">{}</a> <a class="button" href="{}">{}</a></p>',
                reverse("admin:api_clientsystem_rotate", args=[obj.pk]),
                gettext("Rotate the key"),
                reverse("admin:api_clientsystem_revoke", args=[obj.pk]),
                gettext("Revoke"),
            )
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
            "<tbody>{}</tbody></table>{}",
            gettext("key"),
            gettext("created"),
            gettext("valid until"),
            gettext("revoked"),
            gettext("last used"),
            rows,
            links,
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        audit.flush()  # so that "last used" counts every call up to now
        return super().change_view(request, object_id, form_url, extra_context)

    def changelist_view(self, request, extra_context=None):
        audit.flush()
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        obj.created_by = request.user
        super().save_model(request, obj, form, change)
        request._api_new_key = services.issue_key(client=obj, by=request.user)

    def response_add(self, request, obj, post_url_continue=None):
        key = getattr(request, "_api_new_key", None)
        if key is None:  # pragma: no cover - save_model always sets it
            return super().response_add(request, obj, post_url_continue)
        return self._show_key(request, obj, key)

    def _show_key(self, request, obj, key):
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("The API key of %(name)s") % {"name": obj.name},
            "client": obj,
            "key": key,
            "opts": self.model._meta,
            "back": reverse("admin:api_clientsystem_change", args=[obj.pk]),
        }
        response = TemplateResponse(request, "api/key_once.html", context)
        response["Cache-Control"] = "no-store"
        return response

    def get_urls(self):
        return [
            path(
                "<int:pk>/rotate/",
                self.admin_site.admin_view(self.rotate_view),
                name="api_clientsystem_rotate",
            ),
            path(
                "<int:pk>/revoke/",
                self.admin_site.admin_view(self.revoke_view),
                name="api_clientsystem_revoke",
            ),
            *super().get_urls(),
        ]

    def _changeable(self, request, pk):
        obj = self.get_object(request, str(pk))
        if obj is None or not self.has_change_permission(request, obj):
            raise PermissionDenied
        return obj

    def rotate_view(self, request, pk):
        obj = self._changeable(request, pk)
        if request.method == "POST":
            try:
                hours = int(request.POST.get("grace_hours", "24"))
                key = services.rotate_key(client=obj, by=request.user, grace=datetime.timedelta(hours=hours))
            except (DomainError, ValueError, OverflowError) as error:
                message = (
                    error.user_message
                    if isinstance(error, DomainError)
                    else gettext("Enter a number of hours.")
                )
                messages.error(request, message)
                return redirect("admin:api_clientsystem_rotate", pk=obj.pk)
            return self._show_key(request, obj, key)
        return self._confirm(request, obj, "rotate")

    def revoke_view(self, request, pk):
        obj = self._changeable(request, pk)
        if request.method == "POST":
            count = services.revoke_client(client=obj, by=request.user)
            messages.success(
                request,
                gettext("%(name)s is revoked (%(count)s keys stopped working).")
                % {"name": obj.name, "count": count},
            )
            return redirect("admin:api_clientsystem_change", obj.pk)
        return self._confirm(request, obj, "revoke")

    def _confirm(self, request, obj, action):
        titles = {"rotate": gettext("Rotate the key of %(name)s?"), "revoke": gettext("Revoke %(name)s?")}
        context = {
            **self.admin_site.each_context(request),
            "title": titles[action] % {"name": obj.name},
            "client": obj,
            "action": action,
            "opts": self.model._meta,
            "back": reverse("admin:api_clientsystem_change", args=[obj.pk]),
        }
        return TemplateResponse(request, "api/confirm.html", context)


@admin.register(JsDomain)
class JsDomainAdmin(AccountScopedAdminMixin, ModelAdmin):
    list_display = ["domain", "account"]
    search_fields = ["domain", "account__name", "account__appid"]
    list_filter = [("account", admin.RelatedOnlyFieldListFilter)]


@admin.register(ApiCall)
class ApiCallAdmin(ReadOnlyAdminMixin, AccountScopedAdminMixin, ModelAdmin):
    list_display = [
        "at",
        "client",
        "key_prefix",
        "appid",
        "endpoint",
        "outcome",
        "status",
        "error_code",
        "ip",
    ]
    search_fields = ["key_prefix", "appid", "client__name", "ip", "error_code"]
    list_filter = ["outcome", "endpoint", "status", "at"]
    date_hierarchy = "at"
    list_select_related = ["client"]

    def changelist_view(self, request, extra_context=None):
        audit.flush()  # the calls queued in Redis up to now (api/audit.py)
        return super().changelist_view(request, extra_context)
