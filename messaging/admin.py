"""Admin for the message log and reply rules; the customer-service team's admin
(`kf/admin.py`) and the conversation workspace's (`conversations/admin.py`) are
registered through the imports below (the admin's autodiscovery imports this module).

Every class is account-scoped: staff see and change only rows of the accounts
assigned to them. Remote changes to KF accounts go through services and tasks;
the admin never calls WeChat itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin, messages
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

if TYPE_CHECKING:
    from django.contrib.admin.options import _FieldOpts
    from django.utils.functional import _StrOrPromise as StrOrPromise
from unfold.paginator import InfinitePaginator

from accounts.app_modules import app_modules
from accounts.models import OfficialAccount
from accounts.scoping import AccountScopedAdminMixin, require_account_access
from accounts.selectors import accounts_visible_to
from core.admin_mixins import HTTPS_URL_FIELDS, ReadOnlyAdminMixin
from core.dashboard_figures import figure_filter

from . import search, selectors
from .conversations import admin as conversations_admin  # noqa: F401  (registers its admin)
from .kf import admin as kf_admin  # noqa: F401  (registers its admin)
from .models import InboundMessage, KeywordRule, KfSession, TransferRule, WelcomeReply
from .routing import kf_transfer_allowed

# --- Message log ---------------------------------------------------------------------------------
# The log reaches millions of rows, so nothing on its list reads the whole table: filter
# choices come from the accounts or are fixed, there is no date hierarchy (its year/month
# links are a DISTINCT over every row), pages are not counted (unfold's InfinitePaginator:
# previous/next), and the search runs on indexes (messaging.search).
#: WeChat's message types and the events it pushes (docs/wechat-protocol.md)
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
            return queryset.filter(**{str(self.parameter_name): self.value()})
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
    list_filter = (
        ("account", VisibleAccountFilter),
        MessageTypeFilter,
        EventFilter,
        "route",
        "received_at",
        figure_filter(selectors.RECEIVED_TODAY),
    )
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

    def get_actions(self, request):  # type: ignore[override]  # django-stubs: Django 6.0's signature
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
            "panels": conversation_panels(request, account, openid),
        }
        return TemplateResponse(request, "messaging/conversation.html", context)


def conversation_panels(request, account, openid: str) -> list[dict]:
    """What other apps show beside a conversation (e.g. the audience: the follower's remark,
    tags and interactions): each app's ``conversation_panels`` module, found like the hub's
    sections, ``conversation_panels(request, account, openid) -> [{"title", "items":
    [{"label", "value"}], "links": [{"label", "url"}]}]`` (messaging imports none of them)."""
    panels: list[dict] = []
    for module in app_modules("conversation_panels"):
        hook = getattr(module, "conversation_panels", None)
        if hook is not None:
            panels.extend(hook(request, account, openid))
    return panels


# --- Reply rules ------------------------------------------------------------------------------
#: links typed without a scheme are https (Django 6's default, without its warning)

#: R-KF-03 / issue 12: keyword and transfer rules share one priority order (messaging/routing.py)
RULE_ORDER = _(
    "Keyword and transfer rules share one priority order: higher first; on equal "
    "priority the keyword rule answers."
)

REPLY_FIELDSET: tuple[StrOrPromise, _FieldOpts] = (
    _("Reply"),
    {"fields": ("reply_type", "reply_text", "news_title", "news_description", "news_url", "news_pic_url")},
)


@admin.register(KeywordRule)
class KeywordRuleAdmin(AccountScopedAdminMixin, ModelAdmin):
    formfield_overrides = HTTPS_URL_FIELDS
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
    formfield_overrides = HTTPS_URL_FIELDS
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
