"""Admin for the message log, reply rules and the customer-service team.

Every class is account-scoped: staff see and change only rows of the accounts
assigned to them. Remote changes to KF accounts go through services and tasks;
the admin never calls WeChat itself.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from unfold.admin import ModelAdmin
from unfold.paginator import InfinitePaginator

from accounts.models import OfficialAccount
from accounts.scoping import AccountScopedAdminMixin, require_account_access
from accounts.selectors import accounts_visible_to
from core.admin_mixins import ReadOnlyAdminMixin
from core.domain_errors import DomainError

from . import search, selectors, services
from .models import (
    KF_NICKNAME_MAX_LENGTH,
    InboundMessage,
    KeywordRule,
    KfAccount,
    KfAccountStatus,
    KfOperation,
    KfOperationAction,
    KfSession,
    KfWaitCase,
    TransferRule,
    WelcomeReply,
)
from .routing import kf_transfer_allowed

# --- Message log ---------------------------------------------------------------------------------
# The log reaches millions of rows, so nothing on its list reads the whole table: filter
# choices come from the accounts or are fixed, there is no date hierarchy (its year/month
# links are a DISTINCT over every row), pages are not counted (unfold's InfinitePaginator:
# previous/next), and the search runs on indexes (messaging.search).
#: WeChat's message types and the events it pushes (wechat-protocol.md)
MESSAGE_TYPES = ("text", "image", "voice", "video", "shortvideo", "location", "link", "event")
EVENTS = (
    "subscribe",
    "unsubscribe",
    "SCAN",
    "LOCATION",
    "CLICK",
    "VIEW",
    "scancode_push",
    "scancode_waitmsg",
    "pic_sysphoto",
    "pic_photo_or_album",
    "pic_weixin",
    "location_select",
    "view_miniprogram",
    "kf_create_session",
    "kf_close_session",
    "kf_switch_session",
)


class VisibleAccountFilter(admin.RelatedFieldListFilter):
    """Choices: the accounts the user may see (never a DISTINCT over the messages)."""

    def field_choices(self, field, request, model_admin):
        return selectors.message_log_accounts(request.user)

    def has_output(self):
        # also with a single account: a filter without output would ignore its parameter
        return bool(self.lookup_choices)


class FixedChoicesFilter(admin.SimpleListFilter):
    """A filter on one column whose choices are known in advance (no query for them)."""

    values: tuple[str, ...] = ()

    def lookups(self, request, model_admin):
        return [(value, value) for value in self.values]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(**{self.parameter_name: self.value()})
        return queryset


class MessageTypeFilter(FixedChoicesFilter):
    title = _("message type")
    parameter_name = "msg_type"
    values = MESSAGE_TYPES


class EventFilter(FixedChoicesFilter):
    title = _("event")
    parameter_name = "event"
    values = EVENTS


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyAdminMixin, AccountScopedAdminMixin, ModelAdmin):
    allow_delete = True  # staff may delete rows of their accounts (scoped below)
    list_display = (
        "received_at",
        "account",
        "user_link",
        "kind",
        "short_content",
        "route",
        "short_reply",
        "processing_ms",
    )
    list_filter = (("account", VisibleAccountFilter), MessageTypeFilter, EventFilter, "route", "received_at")
    # the search itself is get_search_results; a field here only turns the search box on
    search_fields = ("content",)
    search_help_text = _("Text of a message or reply (two characters or more), or an exact OpenID or MsgId.")
    list_select_related = ("account",)
    paginator = InfinitePaginator
    list_per_page = 50
    show_full_result_count = False
    readonly_fields = (
        "account",
        "openid",
        "kind",
        "content",
        "msg_id",
        "sent_at",
        "received_at",
        "route",
        "keyword_rule",
        "reply_type",
        "reply_summary",
        "processing_ms",
        "dedupe_key",
        "raw",
    )
    exclude = ("reply_xml", "msg_type", "event")  # shown as `kind`, in words

    def get_search_results(self, request, queryset, search_term):
        try:
            terms = search.search_terms(search_term)
        except search.SearchError as exc:
            self.message_user(request, str(exc), messages.WARNING)
            return queryset.none(), False
        if not terms:
            return queryset, False
        account_ids = None
        if search.needs_account_ids(terms):
            account_ids = list(accounts_visible_to(request.user).values_list("pk", flat=True))
        return search.search_messages(queryset, terms, account_ids=account_ids), False

    def get_actions(self, request):
        # No bulk delete: "select all" over millions of rows would load them all on the
        # confirmation page. Retention deletes old rows in batches; single rows can still go.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description=_("user"), ordering="openid")
    def user_link(self, obj: InboundMessage) -> str:
        url = reverse("admin:messaging_conversation", args=[obj.account_id, obj.openid])
        return format_html(
            '<a href="{}" title="{}">{}</a>', url, _("Conversation"), Truncator(obj.openid).chars(16)
        )

    @admin.display(description=_("message type"), ordering="msg_type")
    def kind(self, obj: InboundMessage) -> str:
        return obj.kind_label

    @admin.display(description=_("content"))
    def short_content(self, obj: InboundMessage) -> str:
        return Truncator(obj.content).chars(40)

    @admin.display(description=_("reply"))
    def short_reply(self, obj: InboundMessage) -> str:
        return Truncator(obj.reply_summary).chars(40)

    def get_urls(self):
        return [
            path(
                "conversation/<int:account_pk>/<str:openid>/",
                self.admin_site.admin_view(self.conversation_view),
                name="messaging_conversation",
            ),
        ] + super().get_urls()

    def conversation_view(self, request, account_pk: int, openid: str):
        """Everything one user sent one account, with our replies, oldest first."""
        if not self.has_view_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        account = get_object_or_404(OfficialAccount, pk=account_pk)
        require_account_access(request.user, account)
        rows = selectors.conversation(account=account, openid=openid)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Conversation with %(openid)s") % {"openid": openid},
            "account": account,
            "openid": openid,
            "rows": rows,
            "opts": self.model._meta,
            "sessions": KfSession.objects.filter(account=account, openid=openid)[:20],
        }
        return TemplateResponse(request, "messaging/conversation.html", context)


# --- Reply rules ------------------------------------------------------------------------------
#: links typed without a scheme are https (Django 6's default, without its warning)
URL_FIELDS = {models.URLField: {"assume_scheme": "https"}}

#: R-KF-03 / issue 12: keyword and transfer rules share one priority order (messaging/routing.py)
RULE_ORDER = _(
    "Keyword and transfer rules share one priority order: higher first; on equal "
    "priority the keyword rule answers."
)

REPLY_FIELDSET = (
    _("Reply"),
    {"fields": ("reply_type", "reply_text", "news_title", "news_description", "news_url", "news_pic_url")},
)


@admin.register(KeywordRule)
class KeywordRuleAdmin(AccountScopedAdminMixin, ModelAdmin):
    formfield_overrides = URL_FIELDS
    list_display = ("name", "account", "match_type", "pattern", "priority", "reply_type", "is_active")
    list_filter = (("account", admin.RelatedOnlyFieldListFilter), "match_type", "reply_type", "is_active")
    list_editable = ("priority", "is_active")
    search_fields = ("name", "pattern", "reply_text", "news_title")
    list_select_related = ("account",)
    autocomplete_fields = ("account",)
    readonly_fields = ("created_at", "updated_at")
    list_before_template = "messaging/rule_order_note.html"
    fieldsets = (
        (
            None,
            {
                "fields": ("account", "name", "match_type", "pattern", "priority", "is_active"),
                "description": RULE_ORDER,
            },
        ),
        REPLY_FIELDSET,
        (_("Record"), {"fields": ("created_at", "updated_at")}),
    )


@admin.register(WelcomeReply)
class WelcomeReplyAdmin(AccountScopedAdminMixin, ModelAdmin):
    formfield_overrides = URL_FIELDS
    list_display = ("account", "reply_type", "short_reply", "is_active", "updated_at")
    list_filter = ("reply_type", "is_active")
    search_fields = ("account__name", "reply_text", "news_title")
    list_select_related = ("account",)
    autocomplete_fields = ("account",)
    readonly_fields = ("updated_at",)
    fieldsets = ((None, {"fields": ("account", "is_active")}), REPLY_FIELDSET)

    @admin.display(description=_("reply"))
    def short_reply(self, obj: WelcomeReply) -> str:
        return Truncator(obj.reply_text or obj.news_title).chars(50)


@admin.register(TransferRule)
class TransferRuleAdmin(AccountScopedAdminMixin, ModelAdmin):
    list_display = (
        "name",
        "account",
        "match_type",
        "pattern",
        "kf_account",
        "window",
        "priority",
        "is_active",
        "transfer_state",
    )
    list_filter = (("account", admin.RelatedOnlyFieldListFilter), "match_type", "is_active")
    search_fields = ("name", "pattern")
    list_select_related = ("account", "kf_account")
    autocomplete_fields = ("account", "kf_account")
    readonly_fields = ("transfer_state", "created_at", "updated_at")
    list_before_template = "messaging/rule_order_note.html"
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "account",
                    "name",
                    "match_type",
                    "pattern",
                    "kf_account",
                    "priority",
                    "is_active",
                    "transfer_state",
                ),
                "description": RULE_ORDER,
            },
        ),
        (_("Time window"), {"fields": ("active_from", "active_until")}),
        (_("Record"), {"fields": ("created_at", "updated_at")}),
    )

    @admin.display(description=_("time window"))
    def window(self, obj: TransferRule) -> str:
        if obj.active_from is None:
            return str(_("all day"))
        return f"{obj.active_from:%H:%M}–{obj.active_until:%H:%M}"

    @admin.display(description=_("in effect"))
    def transfer_state(self, obj: TransferRule) -> str:
        """R-KF-01/R-KF-03: say why a rule has no effect on this account."""
        account = obj.account if obj.account_id else None
        if account is None:
            return "—"
        if kf_transfer_allowed(account):
            return str(_("yes"))
        if not (account.is_service and account.is_certified()):
            return str(_("no: only certified service accounts can use customer service"))
        if not account.kf_enabled:
            return str(_("no: the customer-service plug-in is off"))
        return str(_("no: the account is not in developer mode"))


# --- Customer service (R-KF-02) ---------------------------------------------------------------
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
        data = super().clean()
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
        data = super().clean()
        changes = data.get("new_nickname") not in (None, self.instance.nickname) or data.get("avatar")
        if changes:
            try:
                services.kf_check_added(self.instance)
            except ValidationError as exc:
                raise ValidationError(exc.message_dict.get("kf_account", exc.messages))
        return data


@admin.register(KfAccount)
class KfAccountAdmin(AccountScopedAdminMixin, ModelAdmin):
    formfield_overrides = URL_FIELDS
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


# The conversation workspace registers its own admin (replies to users + workspace pages).
from . import admin_conversations  # noqa: E402, F401
