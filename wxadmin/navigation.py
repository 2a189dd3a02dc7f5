"""The admin sidebar: grouped by what staff do, not by app, and complete.

django-unfold calls `sidebar(request)` (settings.UNFOLD["SIDEBAR"]["navigation"]) on
every page. Each entry names a registered model (its list) or an admin URL; entries
whose model is not registered or whose URL does not exist are left out, and every
registered model that no group names lands in "More" — so a page another app adds is
reachable from the sidebar before anyone files it under a group.

The entries (titles, links, who may open each) are built once per language and kept in the
process; each request then keeps the entries its user may open and marks the active one
(issue 21).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, resolve, reverse
from django.utils.html import escape
from django.utils.text import capfirst
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from core.permissions import required_permission

Title = Callable[[], str]


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


@dataclass(frozen=True)
class _Entry:
    """One sidebar link as built for a language: what is the same for every user."""

    #: escaped HTML (the templates mark it safe), a plain str
    title: str
    icon: str
    link: str
    #: whether the request's user may open it (called on every request, never cached)
    allowed: Callable[[HttpRequest], bool]


@dataclass(frozen=True)
class _Built:
    """The sidebar of one language: every entry, before anyone's permissions filter it."""

    groups: tuple[tuple[str, tuple[_Entry, ...]], ...]
    #: registered models no group names, sorted by title
    more: tuple[_Entry, ...]
    more_title: str
    index: str


#: built sidebars by (language, script prefix, urlconf, site, registered admins, GROUPS):
#: user-independent, so one user's sidebar never shows another's links (issue 21)
_BUILT: dict[tuple[Any, ...], _Built] = {}


def _model_entry(label: str, icon: str, title: Title | None, site: admin.AdminSite) -> _Entry | None:
    try:
        model = apps.get_model(label)
    except LookupError:
        return None
    model_admin = site._registry.get(model)
    if model_admin is None:
        return None
    opts = model._meta

    # a plain function: unfold deep-copies the navigation (a bound method would drag the
    # ModelAdmin along)
    def allowed(request: HttpRequest) -> bool:
        return model_admin.has_view_or_change_permission(request)

    return _Entry(
        # capfirst: "Official accounts", not "official accounts", in English (issue 29 §8)
        title=str(escape(title() if title else capfirst(opts.verbose_name_plural))),
        icon=icon,
        link=reverse(f"{site.name}:{opts.app_label}_{opts.model_name}_changelist"),
        allowed=allowed,
    )


def _url_entry(name: str, icon: str, title: Title | None) -> _Entry | None:
    try:
        link = reverse(name)
    except NoReverseMatch:
        return None
    # beyond staff status, the permission the view itself requires (core.permissions)
    perm = required_permission(resolve(link).func)

    def allowed(request: HttpRequest) -> bool:
        user = request.user
        return user.is_active and user.is_staff and (perm is None or user.has_perm(perm))

    return _Entry(title=str(escape(title() if title else name)), icon=icon, link=link, allowed=allowed)


def _build(site: admin.AdminSite) -> _Built:
    groups: list[tuple[str, tuple[_Entry, ...]]] = []
    listed: set[object] = set()
    for group_title, targets in GROUPS:
        entries: list[_Entry] = []
        for target, icon, title in targets:
            if target.startswith("url:"):
                entry = _url_entry(target[4:], icon, title)
            else:
                entry = _model_entry(target, icon, title, site)
                if entry is not None:
                    listed.add(apps.get_model(target))
            if entry is not None:
                entries.append(entry)
        if entries:
            groups.append((str(group_title()), tuple(entries)))
    unlisted = (
        _model_entry(model._meta.label_lower, "article", None, site)
        for model in site._registry
        if model not in listed
    )
    more = tuple(sorted((entry for entry in unlisted if entry), key=lambda entry: entry.title))
    return _Built(tuple(groups), more, str(_("More")), reverse("admin:index"))


def _built(site: admin.AdminSite) -> _Built:
    """The sidebar's entries for the active language, built once per process (issue 21).

    Building it reverses some sixty URLs and translates every title, which every admin page
    did again (bench/admin_chrome.py). Everything that differs by user (which entries they
    may open) or by page (which entry is active) is decided per request in `sidebar`.
    """
    key = (
        get_language(),
        get_script_prefix(),
        get_urlconf() or settings.ROOT_URLCONF,
        id(site),
        tuple(site._registry.values()),  # the admins themselves: no id of a dead one reused
        id(GROUPS),
    )
    built = _BUILT.get(key)
    if built is None:
        if len(_BUILT) >= 64:  # languages × prefixes: a handful in practice
            _BUILT.clear()
        built = _BUILT[key] = _build(site)
    return built


def sidebar(request: HttpRequest, site: admin.AdminSite | None = None) -> list[dict[str, Any]]:
    built = _built(site or admin.site)
    groups: list[dict[str, Any]] = []
    titled = [(title, entries) for title, entries in built.groups]
    if built.more:
        titled.append((built.more_title, built.more))
    for title, entries in titled:
        # Only what the user may open (the dashboard lists the groups too): no "permission"
        # for unfold to check again. Plain values, which unfold's deep copy takes as they are.
        items = [
            {"title": entry.title, "icon": entry.icon, "link": entry.link}
            for entry in entries
            if entry.allowed(request)
        ]
        if items:
            groups.append({"title": title, "separator": bool(groups), "items": items})
    _one_active_item(groups, request.path, built.index)
    return groups


def _one_active_item(groups: list[dict[str, Any]], path: str, index: str) -> None:
    """Highlight only the item whose link is the longest prefix of the page's path (issue 29 §5).

    unfold marks every item whose link is a prefix of the path, so the conversation pages
    (``…/outboundmessage/conversations/``) lit up "outgoing messages" too. The dashboard's
    link (the admin's index, a prefix of every page) is active on the dashboard alone.
    """
    links = [item["link"] for group in groups for item in group["items"]]
    for group in groups:
        for item in group["items"]:
            link = item["link"]
            if link == index:
                item["active"] = path == link
            else:
                item["active"] = path.startswith(link) and not any(
                    other != link and other.startswith(link) and path.startswith(other) for other in links
                )
