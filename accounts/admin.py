"""Admin for entities and official accounts — the screens staff use most."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from import_export.admin import ExportMixin
from simple_history.admin import SimpleHistoryAdmin
from unfold.admin import ModelAdmin
from unfold.contrib.import_export.forms import ExportForm

from . import admin_lockout, admin_tokens, hub  # noqa: F401  (admin_lockout registers its admin)
from .admin_extensions import account_actions, account_columns
from .exports import SafeExportAdminMixin
from .forms import CsvImportForm, OfficialAccountForm
from .importing import import_accounts_csv
from .models import Entity, OfficialAccount
from .resources import IMPORT_HEADER, OfficialAccountExportResource
from .scoping import AccountScopedAdminMixin, EntityScopedAdminMixin, ScopedHistoryMixin


@admin.register(Entity)
class EntityAdmin(ScopedHistoryMixin, EntityScopedAdminMixin, SimpleHistoryAdmin, ModelAdmin):
    list_display = ("full_name", "short_name", "kind", "subtype", "credit_code", "account_count")
    list_filter = ("kind", "subtype")
    ordering = ("full_name",)
    search_fields = ("full_name", "short_name", "credit_code", "legal_representative")
    readonly_fields = ("created_by", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("full_name", "short_name", "kind", "subtype", "credit_code")}),
        (
            _("Legal and office data"),
            {"fields": ("legal_representative", "registered_capital", "office_address", "office_phone")},
        ),
        (_("Corporate bank account"), {"fields": ("bank_name", "bank_account_number")}),
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

    def get_actions(self, request):
        actions = super().get_actions(request)
        for action in account_actions():
            required = getattr(action, "allowed_permissions", ())
            if all(getattr(self, f"has_{perm}_permission")(request) for perm in required):
                name = action.__name__
                actions[name] = (action, name, getattr(action, "short_description", name))
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
                "<int:object_id>/hub/",
                self.admin_site.admin_view(self.hub_view),
                name="accounts_officialaccount_hub",
            ),
            *super().get_urls(),
        ]

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


# Token status list, "refresh token now" and the token column (accounts/admin_tokens.py).
admin_tokens.register()
