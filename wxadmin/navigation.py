"""The admin sidebar: grouped by what staff do, not by app, and complete.

django-unfold calls `sidebar(request)` (settings.UNFOLD["SIDEBAR"]["navigation"]) on
every page. Each entry names a registered model (its list) or an admin URL; entries
whose model is not registered or whose URL does not exist are left out, and every
registered model that no group names lands in "More" — so a page another app adds is
reachable from the sidebar before anyone files it under a group.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.contrib import admin
from django.http import HttpRequest
from django.urls import NoReverseMatch, resolve, reverse
from django.utils.html import escape
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from core.permissions import required_permission

Title = Callable[[], str]
#: a sidebar entry as unfold takes it: title, icon, link, permission (a function of the request)
Item = dict[str, Any]


def _calendar_title() -> str:
    """The content calendar's name, translated in the content app's catalogue."""
    from content.calendar import TITLE

    return str(TITLE)


#: (group title, [(model label or "url:<admin url name>", icon, title or None)])
#: Titles default to the model's translated plural name.
GROUPS: tuple[tuple[Title, list[tuple[str, str, Title | None]]], ...] = (
    (
        lambda: _("Accounts"),
        [
            ("url:admin:index", "dashboard", lambda: _("Dashboard")),
            ("accounts.officialaccount", "forum", lambda: _("Official accounts (hub)")),
            ("accounts.entity", "apartment", None),
            ("accounts.accounttokenstatus", "key", None),
        ],
    ),
    (
        lambda: _("Custom menus"),
        [
            ("menus.menu", "menu", lambda: _("Menu editor")),
            ("menus.menuversion", "history", None),
            ("menus.fanout", "send", None),
            ("menus.menuauditentry", "receipt_long", None),
        ],
    ),
    (
        lambda: _("Messages and replies"),
        [
            ("url:admin:messaging_workspace", "forum", lambda: _("Conversations")),
            ("messaging.outboundmessage", "outgoing_mail", None),
            ("messaging.inboundmessage", "chat", None),
            ("messaging.keywordrule", "quickreply", None),
            ("messaging.welcomereply", "waving_hand", None),
            ("messaging.transferrule", "alt_route", None),
        ],
    ),
    (
        # the app's own (translated) name: no new string in this module's catalogue
        lambda: str(apps.get_app_config("notifications").verbose_name),
        [
            ("url:admin:notifications_send_new", "send", None),
            ("notifications.send", "outbox", None),
            ("notifications.template", "article", None),
            ("notifications.delivery", "receipt_long", None),
            ("notifications.industry", "factory", None),
        ],
    ),
    (
        # the app's own (translated) name: no new string in this module's catalogue
        lambda: str(apps.get_app_config("content").verbose_name),
        [
            ("content.draft", "draft", None),
            ("content.material", "perm_media", None),
            ("content.publication", "public", None),
            ("content.masssend", "campaign", None),
            ("url:admin:content_calendar", "calendar_month", _calendar_title),
        ],
    ),
    (
        lambda: _("Audience"),
        [
            ("audience.follower", "group", None),
            ("audience.tag", "sell", None),
            ("audience.qrcode", "qr_code_2", None),
            ("audience.syncrun", "sync", None),
            ("audience.bulktagjob", "label", None),
        ],
    ),
    (
        # issue 28: the app's own (translated) name
        lambda: str(apps.get_app_config("insights").verbose_name),
        [
            ("url:admin:insights_overview", "monitoring", lambda: _("Charts and figures")),
            ("insights.report", "summarize", None),
            ("insights.backfill", "cloud_download", None),
            ("insights.syncday", "event_busy", None),
        ],
    ),
    (
        lambda: _("Customer service"),
        [
            ("messaging.kfaccount", "support_agent", None),
            ("messaging.kfsession", "forum", None),
            ("messaging.kfwaitcase", "hourglass_top", None),
            ("messaging.kfoperation", "sync", None),
        ],
    ),
    (
        lambda: _("WeChat certification"),
        [
            ("certification.order", "verified", None),
            ("certification.reminder", "alarm", None),
            ("certification.notification", "notifications", None),
            ("certification.wechatevent", "campaign", None),
            ("certification.reviewcompany", "support", None),
        ],
    ),
    (
        lambda: _("API for client systems"),
        [
            ("api.clientsystem", "key", None),
            ("api.jsdomain", "language", None),
            ("api.apicall", "receipt_long", None),
        ],
    ),
    (
        lambda: _("Staff and permissions"),
        [
            ("auth.user", "person", None),
            ("auth.group", "group", None),
            ("axes.accessattempt", "lock", None),
        ],
    ),
    (
        lambda: _("Background jobs"),
        [
            ("django_celery_beat.periodictask", "schedule", None),
            ("django_celery_beat.crontabschedule", "calendar_month", None),
            ("django_celery_beat.intervalschedule", "timer", None),
            ("django_celery_beat.clockedschedule", "event", None),
            ("django_celery_beat.solarschedule", "wb_twilight", None),
            ("django_celery_results.taskresult", "task_alt", None),
            ("django_celery_results.groupresult", "workspaces", None),
        ],
    ),
)


def _model_item(label: str, icon: str, title: Title | None, site: admin.AdminSite) -> Item | None:
    try:
        model = apps.get_model(label)
    except LookupError:
        return None
    model_admin = site._registry.get(model)
    if model_admin is None:
        return None
    opts = model._meta
    return {
        # capfirst: "Official accounts", not "official accounts", in English (issue 29 §8)
        "title": escape(title() if title else capfirst(opts.verbose_name_plural)),
        "icon": icon,
        "link": reverse(f"{site.name}:{opts.app_label}_{opts.model_name}_changelist"),
        # a plain function: unfold deep-copies the navigation (a bound method would drag
        # the ModelAdmin along)
        "permission": lambda request: model_admin.has_view_or_change_permission(request),  # noqa: PLW0108
        "model": model,
    }


def _url_item(name: str, icon: str, title: Title | None) -> Item | None:
    try:
        link = reverse(name)
    except NoReverseMatch:
        return None
    # beyond staff status, the permission the view itself requires (core.permissions)
    perm = required_permission(resolve(link).func)

    def allowed(request: HttpRequest) -> bool:
        user = request.user
        return user.is_active and user.is_staff and (perm is None or user.has_perm(perm))

    return {"title": escape(title() if title else name), "icon": icon, "link": link, "permission": allowed}


def sidebar(request: HttpRequest, site: admin.AdminSite | None = None) -> list[dict[str, Any]]:
    site = site or admin.site
    groups: list[dict[str, Any]] = []
    listed: set[object] = set()
    for group_title, entries in GROUPS:
        items: list[Item] = []
        for target, icon, title in entries:
            if target.startswith("url:"):
                item = _url_item(target[4:], icon, title)
            else:
                item = _model_item(target, icon, title, site)
            if item is not None:
                listed.add(item.pop("model", None))
                if item["permission"](request):  # the dashboard lists the groups too
                    items.append(item)
        if items:
            groups.append({"title": group_title(), "separator": bool(groups), "items": items})
    unlisted = [
        _model_item(model._meta.label_lower, "article", None, site)
        for model in site._registry
        if model not in listed
    ]
    rest = sorted(
        (item for item in unlisted if item and item["permission"](request)), key=lambda item: item["title"]
    )
    for item in rest:
        item.pop("model", None)
    if rest:
        groups.append({"title": _("More"), "separator": True, "items": rest})
    _one_active_item(groups)
    return groups


def _one_active_item(groups: list[dict[str, Any]]) -> None:
    """Highlight only the item whose link is the longest prefix of the page's path (issue 29 §5).

    unfold marks every item whose link is a prefix of the path, so the conversation pages
    (``…/outboundmessage/conversations/``) lit up "outgoing messages" too.
    """
    links = [item["link"] for group in groups for item in group["items"]]
    for group in groups:
        for item in group["items"]:
            link = item["link"]
            longer = tuple(other for other in links if other != link and other.startswith(link))
            item["active"] = functools.partial(_is_active, link, longer)


def _is_active(link: str, longer: tuple[str, ...], request: HttpRequest) -> bool:
    path = request.path
    if link == reverse("admin:index"):
        return path == link
    return path.startswith(link) and not any(path.startswith(other) for other in longer)
