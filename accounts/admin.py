"""Admin for entities and official accounts — the screens staff use most — and their
access-token status."""

import datetime
import logging

from django.contrib import admin, messages
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from import_export.admin import ExportMixin
from redis.exceptions import RedisError
from simple_history.admin import SimpleHistoryAdmin
from unfold.admin import ModelAdmin
from unfold.contrib.import_export.forms import ExportForm

from core.dashboard_figures import figure_filter
from wechat.errors import WeChatError
from wechat.tokens import beijing_day

from . import admin_lockout, hub  # noqa: F401  (admin_lockout registers its admin)
from .admin_extensions import (
    account_actions,
    account_columns,
    register_account_action,
    register_account_column,
)
from .exports import SafeExportAdminMixin
from .forms import CsvImportForm, OfficialAccountForm
from .importing import import_accounts_csv
from .models import AccountTokenStatus, Entity, OfficialAccount, TokenState
from .resources import IMPORT_HEADER, OfficialAccountExportResource, import_template_csv
from .scoping import AccountScopedAdminMixin, EntityScopedAdminMixin, ScopedHistoryMixin
from .selectors import TOKEN_FIGURES, user_can_access_account
from .services import account_token_refresh

logger = logging.getLogger(__name__)


@admin.register(Entity)
class EntityAdmin(ScopedHistoryMixin, EntityScopedAdminMixin, SimpleHistoryAdmin, ModelAdmin):
    list_display = ("full_name", "short_name", "kind", "subtype", "credit_code", "account_count")
    list_filter = ("kind", "subtype")
    ordering = ("full_name",)
    search_fields = ("full_name", "short_name", "credit_code", "legal_representative")
    readonly_fields = ("created_by", "created_at", "updated_at")
    fieldsets = (
        (
            None,
            {
                "fields": ("full_name", "short_name", "kind", "subtype", "credit_code"),
                "description": _(
                    "Certification files this data with each order. With an 18-character unified "
                    "social credit code (three-in-one licence) no separate organisation code "
                    "certificate is needed (R-CERT-04/05)."
                ),
            },
        ),
        (
            _("Legal and office data"),
            {
                "fields": ("legal_representative", "registered_capital", "office_address", "office_phone"),
                "description": _(
                    "Certification needs the legal representative and the office address; an "
                    "enterprise also its registered capital, a media organisation its office "
                    "phone (R-CERT-04/05)."
                ),
            },
        ),
        (
            _("Corporate bank account"),
            {
                "fields": ("bank_name", "bank_account_number"),
                "description": _(
                    "Required for certification: the reviewer pays a small sum into this "
                    "account to check the entity is real (R-CERT-03). An order still being "
                    "filled in picks changes up."
                ),
            },
        ),
        (_("Record"), {"fields": ("created_by", "created_at", "updated_at")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_account_count=Count("accounts"))

    @admin.display(description=_("accounts"), ordering="_account_count")
    def account_count(self, obj) -> int:
        return obj._account_count

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(OfficialAccount)
class OfficialAccountAdmin(
    ScopedHistoryMixin,
    AccountScopedAdminMixin,
    SafeExportAdminMixin,
    ExportMixin,
    SimpleHistoryAdmin,
    ModelAdmin,
):
    account_path = ""
    # A superuser's revert keeps these: history holds no credentials, and orders own
    # the certification state.
    revert_protected_fields = (
        *OfficialAccount.CREDENTIAL_FIELDS,
        "credentials_changed_at",
        "certified_until",
    )
    form = OfficialAccountForm
    export_form_class = ExportForm
    resource_classes = [OfficialAccountExportResource]
    import_export_change_list_template = "admin/accounts/officialaccount/change_list.html"
    list_display = (
        "hub_link",
        "appid",
        "entity",
        "account_type",
        "message_mode",
        "developer_mode",
        "kf_enabled",
    )
    list_display_links = None  # the name opens the account hub; the hub links to the form
    change_form_before_template = "admin/accounts/officialaccount/change_form_before.html"
    # RelatedOnly: the entity filter lists only entities of the accounts the user sees.
    list_filter = (
        "account_type",
        "message_mode",
        "developer_mode",
        "kf_enabled",
        "token_source",
        ("entity", admin.RelatedOnlyFieldListFilter),
        figure_filter(*TOKEN_FIGURES),
    )
    search_fields = ("name", "appid", "wechat_id", "original_id", "entity__full_name", "entity__short_name")
    list_select_related = ("entity",)
    autocomplete_fields = ("entity",)
    filter_horizontal = ("assigned_staff",)
    readonly_fields = (
        "masked_appsecret",
        "masked_server_token",
        "masked_encoding_aes_key",
        "credentials_changed_at",
        "certified_until",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("entity", "name", "wechat_id", "original_id", "account_type")}),
        (
            _("Credentials"),
            {
                "description": _("Stored encrypted and never shown. Type a new value to replace one."),
                "fields": (
                    "appid",
                    "masked_appsecret",
                    "new_appsecret",
                    "masked_server_token",
                    "new_server_token",
                    "masked_encoding_aes_key",
                    "new_encoding_aes_key",
                    "credentials_changed_at",
                ),
            },
        ),
        (
            _("Behaviour"),
            {"fields": ("message_mode", "token_source", "developer_mode", "kf_enabled", "certified_until")},
        ),
        (_("Staff"), {"fields": ("assigned_staff",)}),
        (_("Record"), {"fields": ("created_at", "updated_at")}),
    )

    # -- columns and actions contributed by other apps (accounts imports none of them) --
    def get_list_display(self, request):
        extra = [admin.display(description=column.description)(column.render) for column in account_columns()]
        return (*self.list_display, *extra)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        prefetch = [name for column in account_columns() for name in column.prefetch]
        return queryset.prefetch_related(*prefetch) if prefetch else queryset

    # django-stubs 6 give ModelAdmin Django 6.0's action signatures under Python 3.12;
    # Django 5.2 (what runs) has no `action_location` and keeps (func, name, description) tuples.
    def get_actions(self, request):  # type: ignore[override]
        actions = super().get_actions(request)
        for action in account_actions():
            required = getattr(action, "allowed_permissions", ())
            if all(getattr(self, f"has_{perm}_permission")(request) for perm in required):
                name = action.__name__
                actions[name] = (action, name, getattr(action, "short_description", name))  # type: ignore[assignment]
        return actions

    # -- the account hub: one page per account with its status and a way to each place --
    @admin.display(description=_("name"), ordering="name")
    def hub_link(self, obj) -> str:
        return format_html(
            '<a href="{}" data-testid="hub-link">{}</a>',
            reverse("admin:accounts_officialaccount_hub", args=[obj.pk]),
            obj.name,
        )

    def hub_view(self, request, object_id):
        account = self.get_object(request, object_id)  # unscoped: another's account is 403
        if account is None:
            raise Http404
        if not self.has_view_permission(request, account):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": account.name,
            "subtitle": _("Account hub"),
            "account": account,
            "sections": hub.collect_sections(request, account),
            "opts": self.model._meta,
            "original": account,
        }
        return TemplateResponse(request, "admin/accounts/officialaccount/hub.html", context)

    #: what the MP console asks to be pasted back; the AppSecret comes FROM the console, never to it
    REVEALABLE = ("server_token", "encoding_aes_key")

    def credential_view(self, request, object_id, field):
        """One credential, in JSON, for the hub's copy button (issue 29 §7): POST only, to staff who
        may change this account; logged (who, which, never the value); admin_view marks it never cached."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        account = self.get_object(request, object_id)
        if account is None or field not in self.REVEALABLE:
            raise Http404
        if not self.has_change_permission(request, account):
            raise PermissionDenied
        user = request.user.get_username()
        logger.info("credential %s of account %s shown to %s", field, account.appid, user)
        return JsonResponse({"value": getattr(account, field)})  # admin_view adds never_cache

    # -- masked credentials --
    @admin.display(description=_("AppSecret (stored)"))
    def masked_appsecret(self, obj) -> str:
        return obj.masked("appsecret") if obj.pk else "—"

    @admin.display(description=_("server token (stored)"))
    def masked_server_token(self, obj) -> str:
        return obj.masked("server_token") if obj.pk else "—"

    @admin.display(description=_("EncodingAESKey (stored)"))
    def masked_encoding_aes_key(self, obj) -> str:
        return obj.masked("encoding_aes_key") if obj.pk else "—"

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            readonly.append("assigned_staff")  # only superusers decide who sees what
        return readonly

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if not change and not request.user.is_superuser:
            form.instance.assigned_staff.add(request.user)

    def get_export_queryset(self, request):
        return self.get_queryset(request)

    # -- CSV import: all rows or none, the same service as `manage.py import_accounts` --
    def get_urls(self):
        return [
            path(
                "import-csv/",
                self.admin_site.admin_view(self.import_csv_view),
                name="accounts_officialaccount_import_csv",
            ),
            path(
                "import-csv/template/",
                self.admin_site.admin_view(self.import_template_view),
                name="accounts_officialaccount_import_template",
            ),
            path(
                "<int:object_id>/hub/",
                self.admin_site.admin_view(self.hub_view),
                name="accounts_officialaccount_hub",
            ),
            path(
                "<int:object_id>/credential/<str:field>/",
                self.admin_site.admin_view(self.credential_view),
                name="accounts_officialaccount_credential",
            ),
            *super().get_urls(),
        ]

    def import_template_view(self, request):
        """The import file to fill in: the header and one example row (issue 29)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        response = HttpResponse(import_template_csv(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="official-accounts-template.csv"'
        return response

    def import_csv_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = CsvImportForm(request.POST or None, request.FILES or None)
        problems = []
        if request.method == "POST" and form.is_valid():
            raw = form.cleaned_data["file"].read()
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                form.add_error("file", _("The file must be UTF-8 encoded CSV."))
            else:
                report = import_accounts_csv(text, user=request.user)
                if report.ok:
                    messages.success(
                        request,
                        _("Import done: %(created)d created, %(updated)d updated, %(unchanged)d unchanged.")
                        % {
                            "created": report.created,
                            "updated": report.updated,
                            "unchanged": report.unchanged,
                        },
                    )
                    return HttpResponseRedirect(reverse("admin:accounts_officialaccount_changelist"))
                problems = report.problems
                messages.error(
                    request, _("Nothing was imported: %(count)d problem(s) found.") % {"count": len(problems)}
                )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import official accounts from CSV"),
            "opts": self.model._meta,
            "form": form,
            "problems": problems,
            "header": ",".join(IMPORT_HEADER),
        }
        return TemplateResponse(request, "admin/accounts/officialaccount/import_csv.html", context)


# --- Access-token status (R-MENU-04): the read-only list, "refresh token now" and the
# account list's token column. Tokens themselves are never displayed anywhere.

_TONES = {
    TokenState.VALID: "color:#15803d",
    TokenState.EXPIRING: "color:#b45309",
    TokenState.EXPIRED: "color:#b91c1c",
    TokenState.FAILING: "color:#b91c1c;font-weight:600",
    TokenState.UNKNOWN: "color:#6b7280",
}


#: the token store (and its single-flight lock) lives in Redis
REDIS_DOWN_MESSAGE = _(
    "Redis could not be reached, so no access token was refreshed. Make sure Redis is "
    "running, then try again."
)


def _refresh_accounts(modeladmin, request, accounts) -> None:
    """Force a token refresh for each account the user may act on; report counts and errors."""
    refreshed = 0
    failures: list[tuple[OfficialAccount, str]] = []
    for account in accounts:
        if not user_can_access_account(request.user, account):
            failures.append((account, str(_("you are not assigned to this account"))))
            continue
        try:
            account_token_refresh(account=account, force=True, by=request.user)
        except WeChatError as error:
            failures.append((account, f"{error.errcode} — {error.explanation}"))
            continue
        except RedisError:  # the token store lives in Redis: said in words, never a 500 (issue 23)
            modeladmin.message_user(request, str(REDIS_DOWN_MESSAGE), messages.ERROR)
            break
        refreshed += 1
        modeladmin.log_change(request, account, str(_("Refreshed the access token by hand.")))
    if refreshed:
        modeladmin.message_user(
            request,
            ngettext(
                "Refreshed the access token of %(count)d account.",
                "Refreshed the access tokens of %(count)d accounts.",
                refreshed,
            )
            % {"count": refreshed},
            messages.SUCCESS,
        )
    for account, reason in failures:
        modeladmin.message_user(
            request,
            _("%(account)s: token not refreshed: %(reason)s") % {"account": account, "reason": reason},
            messages.ERROR,
        )


@admin.action(description=_("Refresh access token now"), permissions=["change"])
def refresh_token_now(modeladmin, request, queryset):
    """Admin action for the official-account list (R-MENU-04: still one refresher at a time)."""
    _refresh_accounts(modeladmin, request, queryset)


def token_column(account) -> str:
    """Changelist cell: token state and expiry, or the failing error code. Never the token."""
    try:
        status = account.token_status
    except ObjectDoesNotExist:
        status = None
    if status is None:
        return format_html('<span style="{}">{}</span>', _TONES[TokenState.UNKNOWN], TokenState.UNKNOWN.label)
    state = status.state()
    if state == TokenState.FAILING:
        return format_html(
            '<span style="{}" title="{}">{} {}</span>',
            _TONES[state],
            status.last_error_explanation,
            _("error"),
            status.last_errcode,
        )
    if status.expires_at is None:
        return format_html('<span style="{}">{}</span>', _TONES[state], TokenState(state).label)
    until = timezone.localtime(status.expires_at).strftime("%m-%d %H:%M")
    return format_html('<span style="{}">{} · {}</span>', _TONES[state], TokenState(state).label, until)


@admin.register(AccountTokenStatus)
class AccountTokenStatusAdmin(AccountScopedAdminMixin, ModelAdmin):
    """Read-only list of token status per account; staff see only their accounts."""

    account_path = "account"
    list_display = (
        "account",
        "appid",
        "source",
        "state_display",
        "fetched_at",
        "expires_at",
        "fetches_today_display",
        "last_error_display",
    )
    list_filter = ("source", ("last_errcode", admin.EmptyFieldListFilter))
    search_fields = ("account__name", "account__appid", "account__entity__full_name")
    list_select_related = ("account", "last_manual_refresh_by")
    ordering = ("expires_at",)
    readonly_fields = (
        "account",
        "source",
        "fetched_at",
        "expires_at",
        "fetches_today",
        "fetches_day",
        "last_errcode",
        "last_errmsg",
        "last_error_explanation",
        "last_error_at",
        "last_manual_refresh_by",
        "last_manual_refresh_at",
        "updated_at",
    )
    fields = readonly_fields
    actions = ["refresh_selected"]

    def has_view_permission(self, request, obj=None) -> bool:
        # Whoever may see an account may see its token status (no separate grant needed).
        return (
            request.user.has_perm("accounts.view_officialaccount")
            or super().has_view_permission(request, obj)
        ) and self.may_access(request, obj)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # everything here is written by the token store

    def has_refresh_permission(self, request) -> bool:
        return request.user.has_perm("accounts.change_officialaccount")

    @admin.action(description=_("Refresh access token now"), permissions=["refresh"])
    def refresh_selected(self, request, queryset):
        _refresh_accounts(self, request, [status.account for status in queryset])

    @admin.display(description=_("AppID"), ordering="account__appid")
    def appid(self, obj) -> str:
        return obj.account.appid

    @admin.display(description=_("state"))
    def state_display(self, obj) -> str:
        return token_column(obj.account) if obj.account_id else "—"

    @admin.display(description=_("fetches today"), ordering="fetches_today")
    def fetches_today_display(self, obj) -> int:
        today = datetime.date.fromisoformat(beijing_day(timezone.now().timestamp()))
        return obj.fetches_on(today)

    @admin.display(description=_("last error"))
    def last_error_display(self, obj) -> str:
        if obj.last_errcode is None:
            return "—"
        return format_html(
            "<strong>{}</strong> {}<br><small>{}</small>",
            obj.last_errcode,
            obj.last_errmsg,
            obj.last_error_explanation,
        )

    @admin.display(description=_("what to do"))
    def last_error_explanation(self, obj) -> str:
        return obj.last_error_explanation or "—"


register_account_action(refresh_token_now)
register_account_column(
    name="token", render=token_column, description=_("access token"), prefetch=("token_status",)
)
