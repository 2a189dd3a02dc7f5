"""The account hub: one page per official account, its status at a glance, a link to each place.

`accounts` imports no other app (ARCHITECTURE.md): each app contributes sections through a
`hub.py` module defining `hub_sections(request, account) -> list[dict]`, found through
the app registry as the dashboard's panels are. A section is

    {"title": str, "order": int, "items": [{"label", "value", "tone"?, "url"?}],
     "links": [{"label", "url"}]}

Sections must be cheap (a few indexed queries for one account) and show only what
the user may see; an app returns no section when the user lacks its view permission.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from wechat.errors import address_refused

from .app_modules import app_modules
from .models import TokenState

TOKEN_TONES = {
    TokenState.VALID: "success",
    TokenState.EXPIRING: "warning",
    TokenState.EXPIRED: "danger",
    TokenState.FAILING: "danger",
    TokenState.UNKNOWN: "",
}


def collect_sections(request, account) -> list[dict]:
    sections: list[dict] = []
    for module in app_modules("hub"):
        hook = getattr(module, "hub_sections", None)
        if hook is not None:
            sections.extend(hook(request, account))
    return sorted(sections, key=lambda section: section.get("order", 100))


def changelist_for(model_label: str, **filters) -> str:
    """The admin list of a model filtered by the given lookups (e.g. account__id__exact)."""
    app_label, model_name = model_label.lower().split(".")
    url = reverse(f"admin:{app_label}_{model_name}_changelist")
    if filters:
        url += "?" + "&".join(f"{key}={value}" for key, value in filters.items())
    return url


def local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "—"


def hub_sections(request, account) -> list[dict]:
    """The account itself and its access token (R-MENU-04: never the token)."""
    user = request.user
    items = [
        {"label": _("Entity"), "value": str(account.entity)},
        {"label": "AppID", "value": account.appid},
        {"label": _("Message mode"), "value": account.get_message_mode_display()},
        {"label": _("Developer mode"), "value": _("on") if account.developer_mode else _("off")},
    ]
    links = []
    if user.has_perm("accounts.change_officialaccount"):
        links.append(
            {
                "label": _("Edit the account"),
                "url": reverse("admin:accounts_officialaccount_change", args=[account.pk]),
            }
        )
    links.append(
        {"label": _("History"), "url": reverse("admin:accounts_officialaccount_history", args=[account.pk])}
    )
    sections = [{"key": "account", "title": _("Account"), "order": 0, "items": items, "links": links}]
    sections.append(console_settings_section(request, account))

    if user.has_perm("accounts.view_accounttokenstatus"):
        status = _token_status(account)
        state = status.state() if status else TokenState.UNKNOWN
        token_items = [
            {"label": _("Access token"), "value": TokenState(state).label, "tone": TOKEN_TONES[state]}
        ]
        if status is not None:
            token_items += [
                {"label": _("Fetched at"), "value": local(status.fetched_at)},
                {"label": _("Expires at"), "value": local(status.expires_at)},
                {"label": _("Fetches today"), "value": status.fetches_on(timezone.localdate())},
            ]
            if status.last_errcode is not None:
                token_items.append(
                    {
                        "label": _("Last error"),
                        "tone": "danger",
                        "value": f"{status.last_errcode} — {status.last_error_explanation}",
                    }
                )
        token_links = [
            {
                "label": _("Token status"),
                "url": changelist_for("accounts.accounttokenstatus", account__id__exact=account.pk),
            }
        ]
        sections.append(
            {
                "key": "token",
                "title": _("Access token"),
                "order": 10,
                "items": token_items,
                "links": token_links,
            }
        )
    return sections


def callback_url(request, account) -> str:
    """The server URL to paste into the MP console: SITE_URL's host when set, else this request's."""
    path = reverse("messaging:callback", args=[account.appid])
    site = settings.SITE_URL.rstrip("/")
    return f"{site}{path}" if site else request.build_absolute_uri(path)


def console_settings_section(request, account) -> dict:
    """What to paste into the MP console (设置与开发 → 基本配置), each with a copy button (issue 29 §7).

    The server token and the EncodingAESKey are never in the page: a staff member who may change
    the account reveals one with a POST (``credential_view`` in admin.py), and the reveal is logged.
    """
    may_reveal = request.user.has_perm("accounts.change_officialaccount")

    def credential(label: str, field: str) -> dict:
        item = {"label": label, "value": account.masked(field)}
        if may_reveal:
            item["reveal"] = reverse("admin:accounts_officialaccount_credential", args=[account.pk, field])
        return item

    url = callback_url(request, account)
    items = [
        {"label": _("Server URL"), "value": url, "copy_text": url},
        credential(_("Token"), "server_token"),
        credential("EncodingAESKey", "encoding_aes_key"),
        {"label": _("Message encryption"), "value": account.get_message_mode_display()},
    ]
    addresses = ", ".join(settings.WECHAT_OUTGOING_IPS)
    if addresses:
        items.append({"label": _("IP whitelist"), "value": addresses, "copy_text": addresses})
    else:
        seen = address_refused(getattr(_token_status(account), "last_errmsg", ""))
        items.append(
            {
                "label": _("IP whitelist"),
                "value": _("WeChat saw this server as %(address)s") % {"address": seen}
                if seen
                else _(
                    "Not configured: ask whoever runs this server to set its public outgoing "
                    "addresses (see the operations guide)"
                ),
                "copy_text": seen or "",
                "tone": "warning",
            }
        )
    if account.callback_verified_at:
        items.append(
            {
                "label": _("URL check"),
                "value": _("WeChat reached this server on %(when)s")
                % {"when": local(account.callback_verified_at)},
                "tone": "success",
            }
        )
    else:
        items.append(
            {
                "label": _("URL check"),
                "value": _("Not yet: WeChat's URL check has not reached this server"),
                "tone": "warning",
            }
        )
    return {
        "key": "console",
        "title": _("WeChat server settings"),
        "hint": _("Paste these on the WeChat platform: Settings and development → Basic configuration."),
        "order": 5,
        "items": items,
        "links": [],
    }


def _token_status(account):
    """The account's token status row or None (Django caches the lookup on the account, so the
    console and token sections share one query)."""
    try:
        return account.token_status
    except ObjectDoesNotExist:
        return None
