"""Admin of the customer-service team (R-KF-02): its accounts, the operations that change
them, sessions and the waiting queue; and the official-account list's "sync the team" action.

Account-scoped like the rest of the messaging admin. Remote changes go through
`kf.services` and a task; the admin never calls WeChat itself.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from unfold.admin import ModelAdmin

from accounts.scoping import AccountScopedAdminMixin
from accounts.selectors import accounts_visible_to
from core.admin_mixins import HTTPS_URL_FIELDS, ReadOnlyAdminMixin
from core.domain_errors import DomainError
from messaging.models import (
    KF_NICKNAME_MAX_LENGTH,
    KfAccount,
    KfAccountStatus,
    KfOperation,
    KfOperationAction,
    KfSession,
    KfWaitCase,
)

from . import services

#: links typed without a scheme are https (as in the reply rules' admin, messaging/admin.py)


def retry_operations(modeladmin, request, operations: dict) -> int:
    """Retry each failed operation ({label: operation or None}); say why one cannot be."""
    retried = 0
    for label, operation in operations.items():
        try:
            if operation is None:
                raise services.KfError(_("no addition on record"))
            services.kf_operation_retry(operation=operation, by=request.user)
        except DomainError as exc:
            modeladmin.message_user(request, f"{label}: {exc.user_message}", messages.ERROR)
            continue
        retried += 1
    return retried


class KfAccountAddForm(forms.ModelForm):
    # a form field, not Form.prefix: the metaclass moves declared fields into base_fields
    prefix = forms.CharField(  # type: ignore[assignment]  # the stubs see Form.prefix (str)
        label=_("prefix (work number)"),
        max_length=10,
        help_text=_("1 to 10 letters, digits or underscores; the account becomes prefix@WeChat ID."),
    )

    class Meta:
        model = KfAccount
        fields = ("account", "nickname")

    def clean(self):
        super().clean()
        data = self.cleaned_data
        account, prefix, nickname = data.get("account"), data.get("prefix"), data.get("nickname")
        if account and prefix and nickname:
            try:
                services.kf_account_check_new(account=account, prefix=prefix, nickname=nickname)
            except ValidationError as exc:
                raise ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
        return data


class KfAccountChangeForm(forms.ModelForm):
    new_nickname = forms.CharField(label=_("nickname"), max_length=KF_NICKNAME_MAX_LENGTH)
    avatar = forms.FileField(
        label=_("new avatar"), required=False, help_text=_("JPG or PNG, at most 2 MB; 640×640 recommended.")
    )

    class Meta:
        model = KfAccount
        fields = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["new_nickname"].initial = self.instance.nickname

    def clean_avatar(self):
        """JPG or PNG by content, at most 2 MB (issue 9: refused here, not a 500 on save)."""
        avatar = self.cleaned_data.get("avatar")
        if avatar:
            try:
                services.kf_avatar_check(avatar)
            except ValidationError as exc:
                raise ValidationError(exc.message_dict["avatar"])
        return avatar

    def clean(self):
        super().clean()
        data = self.cleaned_data
        changes = data.get("new_nickname") not in (None, self.instance.nickname) or data.get("avatar")
        if changes:
            try:
                services.kf_check_added(self.instance)
            except ValidationError as exc:
                raise ValidationError(exc.message_dict.get("kf_account", exc.messages))
        return data


@admin.register(KfAccount)
class KfAccountAdmin(AccountScopedAdminMixin, ModelAdmin):
    formfield_overrides = HTTPS_URL_FIELDS
    list_display = (
        "kf_account",
        "nickname",
        "account",
        "status",
        "online",
        "accepted_case",
        "kf_wx",
        "invite_status",
        "synced_at",
        "last_error",
    )
    list_filter = (("account", admin.RelatedOnlyFieldListFilter), "status", "online")
    search_fields = ("kf_account", "nickname", "kf_wx")
    list_select_related = ("account",)
    autocomplete_fields = ("account",)
    readonly_fields = (
        "kf_account",
        "nickname",
        "account",
        "status",
        "kf_id",
        "headimgurl",
        "kf_wx",
        "invite_wx",
        "invite_status",
        "online",
        "accepted_case",
        "last_error",
        "synced_at",
        "created_at",
        "updated_at",
    )
    actions = ("sync_from_wechat", "retry_adding")

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = KfAccountChangeForm if obj is not None else KfAccountAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return ((None, {"fields": ("account", "prefix", "nickname")}),)
        return (
            (None, {"fields": ("kf_account", "account", "status", "last_error")}),
            (_("Change through the WeChat API"), {"fields": ("nickname", "new_nickname", "avatar")}),
            (
                _("From WeChat"),
                {
                    "fields": (
                        "kf_id",
                        "headimgurl",
                        "kf_wx",
                        "invite_wx",
                        "invite_status",
                        "online",
                        "accepted_case",
                        "synced_at",
                    )
                },
            ),
        )

    def save_model(self, request, obj, form, change):
        """R-KF-02: additions and changes are requests; a task applies them through the API."""
        if not change:
            operation = services.kf_account_add(
                account=form.cleaned_data["account"],
                prefix=form.cleaned_data["prefix"],
                nickname=form.cleaned_data["nickname"],
                by=request.user,
            )
            obj.pk = operation.kf_id
            messages.info(
                request,
                _(
                    "The customer-service account is being added in WeChat; "
                    "its status and the operation show the outcome."
                ),
            )
            return
        if form.cleaned_data["new_nickname"] != obj.nickname:
            services.kf_account_update(kf=obj, nickname=form.cleaned_data["new_nickname"], by=request.user)
            messages.info(request, _("The nickname change was sent to WeChat."))
        if form.cleaned_data.get("avatar"):
            services.kf_account_upload_avatar(kf=obj, upload=form.cleaned_data["avatar"], by=request.user)
            messages.info(request, _("The avatar is being uploaded to WeChat."))

    def save_related(self, request, form, formsets, change):
        pass  # no related objects; the row itself is written by the services

    def response_add(self, request, obj, post_url_continue=None):
        """No "added successfully": WeChat has not answered yet (the info message says so)."""
        return HttpResponseRedirect(reverse("admin:messaging_kfaccount_changelist"))

    def response_change(self, request, obj):
        return HttpResponseRedirect(reverse("admin:messaging_kfaccount_changelist"))

    def log_addition(self, request, obj, message):
        if obj.pk:
            super().log_addition(request, obj, message)

    def delete_model(self, request, obj):
        if services.kf_account_delete(kf=obj, by=request.user) is None:
            messages.info(
                request,
                _("“%(name)s” was never added in WeChat; it was removed here only.")
                % {"name": obj.kf_account},
            )
        else:
            messages.info(request, _("The deletion was sent to WeChat; the row goes once it is done."))

    def delete_queryset(self, request, queryset):
        for kf in queryset:
            self.delete_model(request, kf)

    def response_delete(self, request, obj_display, obj_id):
        """No "deleted successfully": WeChat answers later (delete_model said what happens)."""
        return HttpResponseRedirect(reverse("admin:messaging_kfaccount_changelist"))

    @admin.action(description=_("Retry adding the selected failed accounts"), permissions=["change"])
    def retry_adding(self, request, queryset):
        """R-KF-02: a failed addition is retried as a new operation, never reported as done."""
        additions = {
            kf.kf_account: kf.operations.filter(action=KfOperationAction.ADD).order_by("-pk").first()
            for kf in queryset.filter(status=KfAccountStatus.FAILED)
        }
        retried = retry_operations(self, request, additions)
        skipped = queryset.exclude(status=KfAccountStatus.FAILED).count()
        if retried:
            self.message_user(
                request,
                ngettext(
                    "Adding %(count)d account is being retried.",
                    "Adding %(count)d accounts is being retried.",
                    retried,
                )
                % {"count": retried},
                messages.INFO,
            )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d account was skipped: only failed additions can be retried.",
                    "%(count)d accounts were skipped: only failed additions can be retried.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )

    @admin.action(description=_("Sync the team, online status and queue from WeChat"), permissions=["change"])
    def sync_from_wechat(self, request, queryset):
        account_ids = set(queryset.values_list("account_id", flat=True))
        for account in accounts_visible_to(request.user).filter(pk__in=account_ids):
            services.kf_accounts_request_sync(account=account, by=request.user)
        self.message_user(
            request,
            ngettext(
                "A sync was requested for %(count)d account.",
                "A sync was requested for %(count)d accounts.",
                len(account_ids),
            )
            % {"count": len(account_ids)},
            messages.SUCCESS,
        )


@admin.register(KfOperation)
class KfOperationAdmin(ReadOnlyAdminMixin, AccountScopedAdminMixin, ModelAdmin):
    allow_delete = True  # staff may delete rows of their accounts (scoped below)
    list_display = (
        "created_at",
        "account",
        "action",
        "kf_account",
        "status",
        "errcode",
        "explanation",
        "requested_by",
        "finished_at",
    )
    actions = ("retry_failed",)

    def has_retry_permission(self, request):
        return request.user.has_perm("messaging.change_kfaccount")

    @admin.action(description=_("Retry the selected failed operations"), permissions=["retry"])
    def retry_failed(self, request, queryset):
        """R-KF-02: each failed operation runs again as a new one; the failed one stays."""
        retried = retry_operations(
            self, request, {str(operation): operation for operation in queryset.select_related("account")}
        )
        if retried:
            self.message_user(
                request,
                ngettext(
                    "%(count)d operation is being retried.",
                    "%(count)d operations are being retried.",
                    retried,
                )
                % {"count": retried},
                messages.INFO,
            )

    list_filter = (("account", admin.RelatedOnlyFieldListFilter), "action", "status")
    search_fields = ("kf_account", "errmsg")
    list_select_related = ("account", "requested_by")
    readonly_fields = (
        "account",
        "kf",
        "kf_account",
        "action",
        "nickname",
        "avatar",
        "status",
        "errcode",
        "errmsg",
        "explanation",
        "requested_by",
        "created_at",
        "finished_at",
        "attempts",
    )


@admin.register(KfSession)
class KfSessionAdmin(ReadOnlyAdminMixin, AccountScopedAdminMixin, ModelAdmin):
    allow_delete = True  # staff may delete rows of their accounts (scoped below)
    list_display = ("openid", "account", "kf_account", "status", "opened_at", "closed_at", "switched_from")
    list_filter = ("status", ("account", admin.RelatedOnlyFieldListFilter))
    search_fields = ("openid", "kf_account")
    list_select_related = ("account",)
    readonly_fields = ("account", "openid", "kf_account", "status", "opened_at", "closed_at", "switched_from")


@admin.register(KfWaitCase)
class KfWaitCaseAdmin(ReadOnlyAdminMixin, AccountScopedAdminMixin, ModelAdmin):
    allow_delete = True  # staff may delete rows of their accounts (scoped below)
    list_display = ("openid", "account", "latest_time", "synced_at")
    list_filter = (("account", admin.RelatedOnlyFieldListFilter),)
    search_fields = ("openid",)
    list_select_related = ("account",)
    readonly_fields = ("account", "openid", "latest_time", "synced_at")


@admin.action(description=_("Sync the customer-service team from WeChat"), permissions=["change"])
def sync_kf_team(modeladmin, request, queryset):
    """Offered on the official-account list (accounts.admin_extensions hook)."""
    done = 0
    for account in queryset:
        if account.kf_enabled:
            services.kf_accounts_request_sync(account=account, by=request.user)
            done += 1
    skipped = queryset.count() - done
    modeladmin.message_user(
        request,
        ngettext(
            "A customer-service sync was requested for %(count)d account.",
            "A customer-service sync was requested for %(count)d accounts.",
            done,
        )
        % {"count": done},
        messages.SUCCESS,
    )
    if skipped:
        modeladmin.message_user(
            request,
            ngettext(
                "%(count)d account was skipped: its customer-service plug-in is off.",
                "%(count)d accounts were skipped: their customer-service plug-in is off.",
                skipped,
            )
            % {"count": skipped},
            messages.WARNING,
        )
