"""Admin for access-token status, the "refresh token now" action and the token column.

`register()` wires it all up; the accounts admin module calls it (the account
admin picks up the action and the column through accounts.admin_extensions).
Tokens themselves are never displayed anywhere.
"""

from __future__ import annotations

import datetime

from django.contrib import admin, messages
from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from unfold.admin import ModelAdmin

from wechat.errors import WeChatError
from wechat.tokens import beijing_day

from .admin_extensions import register_account_action, register_account_column
from .models_tokens import AccountTokenStatus, TokenState
from .scoping import AccountScopedAdminMixin
from .selectors import user_can_access_account
from .services_tokens import account_token_refresh

_TONES = {
    TokenState.VALID: "color:#15803d",
    TokenState.EXPIRING: "color:#b45309",
    TokenState.EXPIRED: "color:#b91c1c",
    TokenState.FAILING: "color:#b91c1c;font-weight:600",
    TokenState.UNKNOWN: "color:#6b7280",
}


def _refresh_accounts(modeladmin, request, accounts) -> None:
    """Force a token refresh for each account the user may act on; report counts and errors."""
    refreshed, failures = 0, []
    for account in accounts:
        if not user_can_access_account(request.user, account):
            failures.append((account, _("you are not assigned to this account")))
            continue
        try:
            account_token_refresh(account=account, force=True, by=request.user)
        except WeChatError as error:
            failures.append((account, f"{error.errcode} — {error.explanation}"))
            continue
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


def token_panels(request) -> list[dict]:
    """Dashboard panel (for accounts/dashboard.py): token health of the user's accounts."""
    from django.urls import reverse

    from .selectors_tokens import token_state_counts

    if not request.user.has_perm("accounts.view_officialaccount"):
        return []
    counts = token_state_counts(user=request.user)
    url = reverse("admin:accounts_accounttokenstatus_changelist")
    tones = {
        TokenState.FAILING: "danger",
        TokenState.EXPIRED: "danger",
        TokenState.EXPIRING: "warning",
        TokenState.VALID: "success",
    }
    return [
        {
            "title": str(_("Access tokens")),
            "items": [
                {
                    "label": str(state.label),
                    "value": counts[state.value],
                    "url": url,
                    **({"tone": tones[state]} if state in tones else {}),
                }
                for state in TokenState
            ],
        }
    ]


def register(site: admin.AdminSite | None = None) -> None:
    """Register the status admin, the account action and the token column (idempotent)."""
    site = site or admin.site
    if not site.is_registered(AccountTokenStatus):
        site.register(AccountTokenStatus, AccountTokenStatusAdmin)
    register_account_action(refresh_token_now)
    register_account_column(
        name="token", render=token_column, description=_("access token"), prefetch=("token_status",)
    )
