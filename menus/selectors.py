"""Reads for custom menus, shared by the admin, the editor endpoints, tasks and messaging."""

from __future__ import annotations

import datetime

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import OfficialAccount
from accounts.selectors import scope_to_user
from core.dashboard_figures import Figure, figure_counts

from .models import ClickReply, DriftStatus, FanOut, Menu, MenuVersion, VersionStatus


def click_reply_for(*, account, key: str) -> str | None:
    """R-MENU-02: the reply text of the click button with `key` in the account's latest
    PUBLISHED menu, or None (also when that button has no reply text). One indexed
    lookup (unique (account, key)) in a table written at publish time, because it runs
    inside WeChat's 5-second callback window."""
    account_id = getattr(account, "pk", account)
    reply = ClickReply.objects.filter(account_id=account_id, key=key).values_list("reply", flat=True).first()
    return reply or None  # a click button without reply text has nothing to say


def menu_of(account: OfficialAccount) -> Menu | None:
    return Menu.objects.filter(account=account).first()


def editor_state(account: OfficialAccount) -> dict:
    """What the editor starts from: the draft if any, else the last version sent."""
    menu = menu_of(account)
    draft = menu.draft if menu else None
    live = menu.live_version if menu else None
    latest = menu.versions.exclude(status=VersionStatus.DRAFT).first() if menu else None
    # without a draft the editor starts from the last version sent (pending, published or
    # failed: a failed one is usually what needs fixing), else from the live one
    start = draft or latest or live
    return {
        "draft": draft.data if draft else None,
        "live": live.data if live else None,
        "working": start.data if start else {"button": []},
        "has_draft": draft is not None,
        "live_number": live.number if live else None,
        "latest": version_summary(latest) if latest else None,
        "certified": account.is_certified(),
    }


def version_summary(version: MenuVersion) -> dict:
    return {
        "id": version.pk,
        "number": version.number,
        "status": version.status,
        "status_display": str(version.get_status_display()),
        "errcode": version.errcode,
        "errmsg": version.errmsg,
        "explanation": version.explanation,
        "attempts": version.attempts,
        "finished_at": version.finished_at.isoformat() if version.finished_at else None,
    }


def versions_visible_to(user) -> QuerySet[MenuVersion]:
    return scope_to_user(MenuVersion.objects.all(), user, "menu__account")


def fanout_counts(fanout: FanOut) -> dict[str, int]:
    """published/failed/pending/superseded counts of a fan-out in one aggregate query
    (superseded: a newer version of that account's menu was published meanwhile)."""
    return fanout.versions.aggregate(
        published=Count("pk", filter=Q(status=VersionStatus.PUBLISHED)),
        failed=Count("pk", filter=Q(status=VersionStatus.FAILED)),
        pending=Count("pk", filter=Q(status=VersionStatus.PENDING)),
        superseded=Count("pk", filter=Q(status=VersionStatus.SUPERSEDED)),
    )


def fanout_progress(fanout: FanOut) -> dict:
    """done/failed/pending counts and one row per account, for the live progress view."""
    versions = fanout.versions.select_related("menu__account").order_by("menu__account__name")
    counts = fanout_counts(fanout)
    rows = [
        {
            "account": version.menu.account.name,
            "appid": version.menu.account.appid,
            **version_summary(version),
        }
        for version in versions
    ]
    return {"id": fanout.pk, "total": fanout.total, **counts, "done": counts["pending"] == 0, "rows": rows}


def remote_menu(account: OfficialAccount) -> dict:
    """What WeChat shows now (menu/get) in the set's shape (default + conditional menus,
    menus/conditional.py); no menu → no buttons.
    Raises WeChatError for anything else (the editor shows its explanation)."""
    from accounts.wechat_api import client_for

    from .conditional import CONDITIONAL, remote_answer, remote_set
    from .wire import wechat_body

    data = remote_set(remote_answer(client_for(account)))
    body = wechat_body(data)
    trees = [body] + [{"button": item["button"]} for item in data.get(CONDITIONAL, [])]
    for tree in trees:  # menu/get echoes "sub_button": [] on every leaf
        for button in tree["button"]:
            if isinstance(button, dict) and button.get("sub_button") == []:
                del button["sub_button"]
            for sub in button.get("sub_button") or []:
                if isinstance(sub, dict) and sub.get("sub_button") == []:
                    del sub["sub_button"]
    if len(trees) > 1:
        body[CONDITIONAL] = [
            {"button": tree["button"], "matchrule": item["matchrule"]}
            for tree, item in zip(trees[1:], data[CONDITIONAL], strict=True)
        ]
    return body


def _week_ago() -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=7)


def _drifted() -> Q:
    return Q(drift_status__in=[DriftStatus.DRIFTED, DriftStatus.MISSING])


#: The dashboard's menu figures, each also the menu (or version) list's ``?figure=`` filter
#: (issue 29 §4: one condition for the figure and its list).
DRIFTED = Figure("drifted", _("Menus that differ from WeChat"), _drifted, "warning")
PENDING = Figure("pending", _("Publications pending"), lambda: Q(status=VersionStatus.PENDING), "info")
FAILED = Figure(
    "failed",
    _("Publications failed (7 days)"),
    lambda: Q(status=VersionStatus.FAILED, finished_at__gte=_week_ago()),
    "danger",
)
PUBLISHED = Figure(
    "published",
    _("Menus published (7 days)"),
    lambda: Q(status=VersionStatus.PUBLISHED, finished_at__gte=_week_ago()),
)
MENU_FIGURES = (DRIFTED,)
VERSION_FIGURES = (PENDING, FAILED, PUBLISHED)


def failed_publications(user, *, limit: int = 12) -> list[MenuVersion]:
    """The latest failed publication of each account, within the 7 days of FAILED."""
    versions = (
        versions_visible_to(user)
        .filter(FAILED.where())
        .select_related("menu__account")
        .order_by("-finished_at")
    )
    latest: dict[int, MenuVersion] = {}
    for version in versions[: limit * 4]:
        latest.setdefault(version.menu_id, version)
    return list(latest.values())[:limit]


def dashboard_counts(user) -> dict[str, int]:
    """Cheap aggregate counts for the admin index, scoped to the user's accounts."""
    menus = scope_to_user(Menu.objects.all(), user, "account")
    return {
        **figure_counts(menus, MENU_FIGURES),
        **figure_counts(versions_visible_to(user), VERSION_FIGURES),
    }


def buttons_using_media(account: OfficialAccount, media_id: str) -> list[str]:
    """Names of the buttons (live menu and draft, default and conditional menus) of type
    media_id / view_limited that send this material: the materials library warns before
    deleting it (issue 25)."""
    if not media_id:
        return []
    menu = menu_of(account)
    if menu is None:
        return []
    names: list[str] = []
    for version in (menu.live_version, menu.draft):
        data = version.data if version else None
        if not isinstance(data, dict):
            continue
        menus = [data] + [m for m in data.get("conditionalmenu") or [] if isinstance(m, dict)]
        for each in menus:
            for button in each.get("button") or []:
                for leaf in [button, *(button.get("sub_button") or [])]:
                    if (
                        isinstance(leaf, dict)
                        and leaf.get("type") in ("media_id", "view_limited")
                        and leaf.get("media_id") == media_id
                        and leaf.get("name") not in names
                    ):
                        names.append(str(leaf.get("name") or ""))
    return names
