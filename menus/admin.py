"""Admin for menus: the editor page, version history, fan-outs and the audit log.

Every list is scoped to the accounts assigned to the user (AccountScopedAdminMixin);
custom pages check `require_account_access`. Versions and audit rows are read-only:
their status changes only through services.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from accounts.models import OfficialAccount
from accounts.scoping import AccountScopedAdminMixin, require_account_access
from accounts.selectors import accounts_visible_to
from audience.selectors import tag_choices
from core.admin_mixins import ReadOnlyAdminMixin
from core.dashboard_figures import figure_filter
from core.parsing import id_or_none

from . import selectors, services, validation
from .models import FanOut, Menu, MenuAuditEntry, MenuVersion, VersionStatus

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def editor_url(account_pk: int) -> str:
    return reverse("admin:menus_menu_editor", args=[account_pk])


def editor_strings() -> dict[str, str | dict[str, str]]:
    """Every text the editor's script shows, translated here so it lands in our catalogue."""
    return {
        "bytes": gettext("%(n)s / %(max)s bytes"),
        "name": pgettext("menu editor", "Name"),
        "type": pgettext("menu editor", "Type"),
        "key": gettext("Key (left blank: generated)"),
        "url": pgettext("menu editor", "URL"),
        "media_id": gettext("media_id (permanent material)"),
        "pick_material": gettext("— pick a material from the library —"),
        "no_materials": gettext("No material in this account's library yet (Content → Materials)."),
        "article_id": gettext("article_id (published article)"),
        "appid": gettext("Mini program AppID"),
        "pagepath": gettext("Mini program page path"),
        "reply": gettext("Reply text sent when clicked"),
        "parent": gettext("Has sub-buttons (no action of its own)"),
        "add_sub": gettext("Add sub-button"),
        "up": pgettext("menu editor", "Move up"),
        "down": pgettext("menu editor", "Move down"),
        "delete": pgettext("menu editor", "Delete"),
        "confirm_delete": gettext("Delete “%(name)s” and everything under it?"),
        "confirm_discard": gettext("Throw away the draft and go back to the published menu?"),
        "confirm_delete_remote": gettext(
            "Delete this account's menu on WeChat? Users will see no menu until you publish again."
        ),
        "confirm_pull": gettext("Replace the draft with the menu WeChat has now?"),
        "new_button": pgettext("menu editor", "Button"),
        "new_sub": pgettext("menu editor", "Item"),
        "nothing_selected": gettext("Select a button in the preview or the list, or add one."),
        "empty_menu": gettext("No buttons yet."),
        "saving": gettext("Saving…"),
        "publishing": gettext("Publishing… waiting for WeChat."),
        "published": gettext(
            "Published. Clients can take up to 24 hours to show the new "
            "menu (they cache it); unfollowing and following the account "
            "shows it at once."
        ),
        "failed": gettext("Publishing failed"),
        "pending": gettext("Still pending; the worker retries temporary errors."),
        "superseded": gettext("Superseded: a newer version was published, so this one was not sent."),
        "opens": gettext("Opens %(url)s"),
        "does": gettext("Button type: %(type)s"),
        "no_reply": gettext("(no reply configured in the published menu)"),
        "click_sent": gettext("You tapped “%(name)s”"),
        "network": gettext("The server could not be reached."),
        "unsaved": gettext("Unsaved changes"),
        "valid": gettext("The menu passes every WeChat rule."),
        "loading": gettext("Loading…"),
        "cmp_same": gettext("Same as the menu on screen."),
        "cmp_differs": gettext("%(n)s button(s) differ from the menu on screen."),
        "cmp_none": gettext("No menu."),
        "type_names": {
            "click": gettext("click — send a message (reply text)"),
            "view": gettext("view — open a web page"),
            "scancode_push": gettext("scancode_push — scan a code"),
            "scancode_waitmsg": gettext("scancode_waitmsg — scan, wait for a message"),
            "pic_sysphoto": gettext("pic_sysphoto — take a photo"),
            "pic_photo_or_album": gettext("pic_photo_or_album — photo or album"),
            "pic_weixin": gettext("pic_weixin — WeChat album"),
            "location_select": gettext("location_select — send a location"),
            "media_id": gettext("media_id — send a material"),
            "view_limited": gettext("view_limited — open a news material"),
            "article_id": gettext("article_id — send a published article"),
            "article_view_limited": gettext("article_view_limited — open a published article"),
            "miniprogram": gettext("miniprogram — open a mini program"),
        },
    }


@admin.register(Menu)
class MenuAdmin(AccountScopedAdminMixin, ModelAdmin):
    account_path = "account"
    list_display = ("account", "drift_status", "drift_checked_at", "updated_at", "open_editor")
    list_filter = ("drift_status", figure_filter(*selectors.MENU_FIGURES))
    search_fields = ("account__name", "account__appid", "account__wechat_id")
    list_select_related = ("account",)
    raw_id_fields = ("account",)
    readonly_fields = ("drift_status", "drift_checked_at", "drift_detail", "created_at", "updated_at")
    list_before_template = "menus/menu_list_before.html"

    def has_add_permission(self, request):
        return False  # menus are created by opening an account's editor

    def changelist_view(self, request, extra_context=None):
        """Above the list: open any visible account's editor, menu or not (the way in)."""
        accounts = accounts_visible_to(request.user).only("pk", "name", "appid").order_by("name")
        return super().changelist_view(request, {**(extra_context or {}), "editor_accounts": accounts})

    def open_editor_view(self, request):
        try:
            account_pk = int(request.GET.get("account", ""))
        except ValueError:
            messages.error(request, _("Choose an account."))
            return redirect(reverse("admin:menus_menu_changelist"))
        return redirect(editor_url(account_pk))

    @admin.display(description=_("Editor"))
    def open_editor(self, obj: Menu) -> str:
        return format_html('<a href="{}">{}</a>', editor_url(obj.account_id), _("Open editor"))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        menu = self.get_object(request, object_id)
        if menu is not None and self.may_access(request, menu):
            return redirect(editor_url(menu.account_id))
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        custom = [
            path(
                "account/<int:account_pk>/editor/",
                self.admin_site.admin_view(self.editor_view),
                name="menus_menu_editor",
            ),
            path(
                "open-editor/",
                self.admin_site.admin_view(self.open_editor_view),
                name="menus_menu_open_editor",
            ),
        ]
        return custom + super().get_urls()

    def editor_view(self, request, account_pk: int):
        """The phone-preview editor for one account (R-MENU-01..03)."""
        if not request.user.has_perm("menus.view_menu"):
            raise PermissionDenied
        account = get_object_or_404(OfficialAccount, pk=account_pk)
        require_account_access(request.user, account)
        try:
            simulate_url = reverse("messaging:simulate", args=[account.pk])
        except NoReverseMatch:
            simulate_url = ""
        urls = {
            name: reverse(f"menus:{name}", args=[account.pk])
            for name in (
                "state",
                "validate",
                "save_draft",
                "discard_draft",
                "publish",
                "latest_version",
                "pull",
                "delete_remote",
                "remote",
                "export",
                "import",
                "copy",
            )
        }
        try:  # the content app's picker (issue 25), found by URL name: menus imports no content module
            if request.user.has_perm("content.view_material"):
                urls["materials"] = f"{reverse('admin:content_material_choices')}?account={account.pk}"
        except NoReverseMatch:
            pass
        config = {
            "state": selectors.editor_state(account),
            "urls": urls,
            "simulate_url": simulate_url,
            "can_change": request.user.has_perm("menus.change_menu"),
            "types": list(validation.BUTTON_TYPES),
            "required": {k: list(v) for k, v in validation.BUTTON_TYPES.items()},
            "limits": {
                "buttons": validation.MAX_BUTTONS,
                "subs": validation.MAX_SUB_BUTTONS,
                "name": validation.MAX_NAME_BYTES,
                "sub_name": validation.MAX_SUB_NAME_BYTES,
                "key": validation.MAX_KEY_BYTES,
                "url": validation.MAX_URL_BYTES,
                "reply": validation.MAX_REPLY_BYTES,
            },
        }
        config["t"] = editor_strings()
        others = (
            accounts_visible_to(request.user)
            .exclude(pk=account.pk)
            .only("pk", "name", "appid")
            .order_by("name")
        )
        versions = (
            MenuVersion.objects.filter(menu__account=account)
            .exclude(status=VersionStatus.DRAFT)
            .select_related("submitted_by")[:10]
        )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Menu of %(account)s") % {"account": account},
            "account": account,
            "config": config,
            "config_json": json.dumps(config, ensure_ascii=False),
            "simulate_url": simulate_url,
            "other_accounts": others,
            "account_tags": tag_choices(account.pk),
            "versions": versions,
            "opts": self.model._meta,
            "is_fullwidth": "1",
        }
        return TemplateResponse(request, "menus/editor.html", context)


@admin.register(MenuVersion)
class MenuVersionAdmin(ReadOnlyAdminMixin, AccountScopedAdminMixin, ModelAdmin):
    account_path = "menu__account"
    list_display = (
        "menu",
        "number",
        "status",
        "source",
        "submitted_by",
        "submitted_at",
        "finished_at",
        "attempts",
        "errcode",
        "errmsg",
    )
    list_filter = ("status", "source", figure_filter(*selectors.VERSION_FIGURES))
    search_fields = ("menu__account__name", "menu__account__appid", "errmsg")
    list_select_related = ("menu__account", "submitted_by")
    raw_id_fields = ("menu",)
    readonly_fields = (
        "menu",
        "number",
        "status",
        "source",
        "pretty_data",
        "fanout",
        "created_by",
        "created_at",
        "submitted_by",
        "submitted_at",
        "finished_at",
        "attempts",
        "errcode",
        "errmsg",
        "explanation",
    )
    fields = readonly_fields

    @admin.display(description=_("menu JSON"))
    def pretty_data(self, obj: MenuVersion) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.data, ensure_ascii=False, indent=2))


@admin.register(MenuAuditEntry)
class MenuAuditEntryAdmin(ReadOnlyAdminMixin, AccountScopedAdminMixin, ModelAdmin):
    account_path = "account"
    list_display = ("at", "account", "action", "by", "version", "detail")
    list_filter = ("action",)
    search_fields = ("account__name", "account__appid", "detail")
    list_select_related = ("account", "by", "version__menu__account")
    raw_id_fields = ("account", "version")
    readonly_fields = ("at", "account", "action", "by", "version", "detail")


@admin.register(FanOut)
class FanOutAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ("__str__", "source_account", "created_by", "created_at", "total", "open_progress")
    search_fields = ("source_account__name",)
    list_select_related = ("source_account", "created_by")
    raw_id_fields = ("source_account",)
    readonly_fields = ("source_account", "created_by", "created_at", "total")

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(Q(created_by=request.user))

    @admin.display(description=_("Progress"))
    def open_progress(self, obj: FanOut) -> str:
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:menus_fanout_progress", args=[obj.pk]), _("Show progress")
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        pk = id_or_none(object_id)  # issue 22 §7: /fanout/abc/change/ could not be reversed: 500
        if pk is None:
            raise Http404
        return redirect(reverse("admin:menus_fanout_progress", args=[pk]))

    def get_urls(self):
        custom = [
            path(
                "<int:pk>/progress/",
                self.admin_site.admin_view(self.progress_view),
                name="menus_fanout_progress",
            ),
        ]
        return custom + super().get_urls()

    def progress_view(self, request, pk: int):
        fanout = get_object_or_404(FanOut, pk=pk)
        if not (request.user.is_superuser or fanout.created_by_id == request.user.pk):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": str(fanout),
            "fanout": fanout,
            "progress": selectors.fanout_progress(fanout),
            "progress_url": reverse("menus:fanout_progress", args=[fanout.pk]),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "menus/fanout_progress.html", context)


# --- Contributions to the official-account admin (accounts imports no other app) ---------

DRIFT_TONES = {"in_sync": "✓", "drifted": "⚠", "missing": "∅", "error": "✗"}


def render_menu_column(account: OfficialAccount) -> str:
    """The account list's "Menu" column: drift flag + link to the editor.
    Reads `account.menu` from the prefetch (no query per row)."""
    try:
        menu = account.menu
    except Menu.DoesNotExist:
        menu = None
    label: StrOrPromise
    if menu is None:
        label, status = _("No menu yet"), "none"
    else:
        status = menu.drift_status
        label = f"{DRIFT_TONES.get(status, '')} {menu.get_drift_status_display()}".strip()
    return format_html('<a href="{}" data-menu-drift="{}">{}</a>', editor_url(account.pk), status, label)


@admin.action(description=_("Publish a menu to the selected accounts"), permissions=["change"])
def publish_menu_to_accounts(modeladmin, request, queryset):
    """Account admin action: choose a source menu, then fan it out (or copy it as drafts)."""
    if not request.user.has_perm("menus.change_menu"):
        raise PermissionDenied
    targets = list(accounts_visible_to(request.user).filter(pk__in=queryset.values("pk")))
    sources = (
        Menu.objects.filter(account__in=accounts_visible_to(request.user))
        .select_related("account")
        .order_by("account__name")
    )
    if request.POST.get("apply"):
        source = get_object_or_404(sources, pk=request.POST.get("source"))
        state = selectors.editor_state(source.account)
        data = state["live"] if request.POST.get("which") == "live" else state["working"]
        if not data or not data.get("button"):
            modeladmin.message_user(request, _("The chosen menu has no buttons."), messages.ERROR)
            return None
        if request.POST.get("mode") == "copy":
            copied, refused = services.menu_copy(
                data=data, accounts=targets, by=request.user, source_account=source.account
            )
            modeladmin.message_user(
                request,
                _("Copied into %(ok)s draft(s); %(bad)s account(s) refused it.")
                % {"ok": len(copied), "bad": len(refused)},
                messages.SUCCESS if not refused else messages.WARNING,
            )
            for account, issues in refused.items():
                modeladmin.message_user(request, f"{account}: {issues[0]}", messages.WARNING)
            return None
        try:
            fanout = services.fanout_start(
                data=data, accounts=targets, by=request.user, source_account=source.account
            )
        except services.MenuError as exc:
            modeladmin.message_user(request, str(exc), messages.ERROR)
            return None
        modeladmin.message_user(
            request, _("Publishing to %(n)s account(s) started.") % {"n": fanout.total}, messages.SUCCESS
        )
        return redirect(reverse("admin:menus_fanout_progress", args=[fanout.pk]))
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": _("Publish a menu to the selected accounts"),
        "targets": targets,
        "sources": sources,
        "queryset": queryset,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "opts": modeladmin.model._meta,
    }
    return TemplateResponse(request, "menus/fanout_confirm.html", context)
