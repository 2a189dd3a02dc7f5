"""Login lockouts (django-axes) in the admin: who is locked, and an "unlock" action.

Registered here instead of axes' own admin (AXES_ENABLE_ADMIN = False) to get the
unfold look, Chinese labels and an explicit unlock. Installation-wide (issue 22 §2):
lockouts of every tenant's staff, so installation operators only (accounts/installation.py);
unlocking deletes the failed attempts, which is what axes reads.
"""

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from unfold.admin import ModelAdmin

from .installation import InstallationAdminMixin


@admin.register(AccessAttempt)
class AccessAttemptAdmin(InstallationAdminMixin, ModelAdmin):
    list_display = ("username", "ip_address", "failures_since_start", "attempt_time", "is_locked")
    list_filter = ("attempt_time",)
    search_fields = ("username", "ip_address")
    readonly_fields = (
        "username",
        "ip_address",
        "user_agent",
        "path_info",
        "failures_since_start",
        "attempt_time",
    )
    fields = readonly_fields
    date_hierarchy = "attempt_time"
    actions = ("unlock",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("locked out"), boolean=True)
    def is_locked(self, obj: AccessAttempt) -> bool:
        return obj.failures_since_start >= settings.AXES_FAILURE_LIMIT

    @admin.action(description=_("Unlock the selected logins"), permissions=["delete"])
    def unlock(self, request, queryset):
        count, _detail = queryset.delete()
        self.message_user(
            request,
            ngettext("%(count)d login unlocked.", "%(count)d logins unlocked.", count) % {"count": count},
            messages.SUCCESS,
        )
