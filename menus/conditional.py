"""Conditional (personalised, 个性化) menus: the menu *set* of an account.

An account's menu is a set: the default menu plus conditional menus, each with a match
rule (docs/wechat-protocol.md §b). A version stores the whole set in one tree::

    {"button": [...],                                    # the default menu (menu/create)
     "conditionalmenu": [{"button": [...], "matchrule": {...}}, ...]}

so that versions, drift and fan-out treat the set as one menu. The list order is the
priority: WeChat matches the newest conditional menu first and has no edit API, so a
publication deletes the conditional menus WeChat has (menu/delconditional) and adds ours
(menu/addconditional) last-first, leaving the first one the newest.

Pure functions over the tree plus `publish_conditional`, which takes a WeChat client.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from wechat.api import menus as wechat_menus

from .validation import MenuIssue, click_replies, normalize_menu, validate_menu
from .wire import canonical, wechat_body

CONDITIONAL = "conditionalmenu"
#: every match-rule field the editor offers, in its order (group_id is the legacy tag_id)
MATCH_FIELDS = ("tag_id", "client_platform_type", "sex", "country", "province", "city", "language")
#: fields WeChat now refuses in new rules (errcode 65320, user privacy)
PRIVACY_FIELDS = ("sex", "country", "province", "city", "language")
CLIENT_PLATFORMS = {"1": "iOS", "2": "Android", "3": "Others"}
SEXES = ("1", "2")  # 1 male, 2 female


@dataclass(frozen=True)
class SetIssue(MenuIssue):
    """A MenuIssue that also says which menu of the set it is in (None: the default)."""

    menu: int | None = None

    @property
    def location(self) -> str:
        inner = super().location
        if self.menu is None:
            return inner
        return _("Conditional menu %(n)s") % {"n": self.menu + 1} + " › " + inner

    def as_dict(self) -> dict:
        return {**super().as_dict(), "menu": self.menu}


def _in_menu(issue: MenuIssue, menu: int | None) -> SetIssue:
    return SetIssue(issue.path, issue.field, issue.message, issue.errcode, menu)


def conditional_menus(data) -> list:
    found = (data or {}).get(CONDITIONAL) if isinstance(data, dict) else None
    return found if isinstance(found, list) else []


def clean_matchrule(rule) -> dict[str, str]:
    """The non-empty fields of a match rule, as strings (WeChat's shape)."""
    if not isinstance(rule, dict):
        return {}
    if rule.get("group_id") and not rule.get("tag_id"):
        rule = {**rule, "tag_id": rule["group_id"]}
    return {
        name: str(rule[name]).strip()
        for name in MATCH_FIELDS
        if rule.get(name) not in (None, "") and str(rule[name]).strip()
    }


def validate_matchrule(rule, *, menu: int) -> list[SetIssue]:
    """A match rule as menu/addconditional checks it (docs/wechat-protocol.md §b):
    not empty (65304), province needs a country (65310), city a province (65311),
    no privacy fields — sex, region, language — any more (65320), a numeric tag id,
    a platform of 1/2/3."""
    clean = clean_matchrule(rule)
    issues: list[SetIssue] = []

    def issue(field: str, message: str, errcode: int | None) -> None:
        issues.append(SetIssue((), f"matchrule.{field}", message, errcode, menu))

    if not clean:
        issue("tag_id", _("Give the match rule at least a user tag or a platform."), 65304)
        return issues
    if "tag_id" in clean and not clean["tag_id"].isdigit():
        issue("tag_id", _("The user tag is its numeric id (see the account's user tags)."), None)
    if "client_platform_type" in clean and clean["client_platform_type"] not in CLIENT_PLATFORMS:
        issue("client_platform_type", _("The platform is 1 (iOS), 2 (Android) or 3 (others)."), None)
    if "sex" in clean and clean["sex"] not in SEXES:
        issue("sex", _("Sex is 1 (male) or 2 (female)."), None)
    if "province" in clean and "country" not in clean:
        issue("province", _("A province needs a country."), 65310)
    if "city" in clean and "province" not in clean:
        issue("city", _("A city needs a province."), 65311)
    privacy = [name for name in PRIVACY_FIELDS if name in clean]
    if privacy:
        issue(
            privacy[0],
            _(
                "WeChat no longer accepts matching on sex, region or language "
                "(%(fields)s): remove them and match on a user tag or the "
                "platform."
            )
            % {"fields": ", ".join(privacy)},
            65320,
        )
    return issues


def normalize_set(data: Any) -> Any:
    """normalize_menu for the default menu and every conditional menu; rules cleaned."""
    if not isinstance(data, dict):
        return data
    result = normalize_menu(data)
    if CONDITIONAL not in data:
        return result
    menus = data.get(CONDITIONAL)
    if not isinstance(menus, list):
        return result
    cleaned = []
    for item in menus:
        if not isinstance(item, dict):
            cleaned.append(item)
            continue
        one = normalize_menu({"button": item.get("button")})
        cleaned.append(
            {
                "button": one.get("button") if isinstance(one, dict) else one,
                "matchrule": clean_matchrule(item.get("matchrule")),
            }
        )
    result[CONDITIONAL] = cleaned
    return result


def validate_set(data, *, certified: bool) -> list[MenuIssue]:
    """Every rule of validate_menu for each menu of the set, each conditional menu's match
    rule, and one key meaning one reply across the whole set (the callback answers a
    click by its key alone, R-MENU-02)."""
    issues: list[MenuIssue] = list(validate_menu(data, certified=certified))
    if not isinstance(data, dict) or CONDITIONAL not in data:
        return issues
    menus = data.get(CONDITIONAL)
    if not isinstance(menus, list):
        return issues + [SetIssue((), CONDITIONAL, _("“conditionalmenu” must be a list."), None, None)]
    replies = click_replies(data) if not issues else {}
    for k, item in enumerate(menus):
        if not isinstance(item, dict):
            issues.append(SetIssue((), "", _("A conditional menu must be an object."), None, k))
            continue
        found = [
            _in_menu(issue, k) for issue in validate_menu({"button": item.get("button")}, certified=certified)
        ]
        found += validate_matchrule(item.get("matchrule"), menu=k)
        issues += found
        if found:
            continue
        for key, reply in click_replies(item).items():
            if key in replies and replies[key] != reply:
                issues.append(
                    SetIssue(
                        (),
                        "key",
                        _(
                            "The key “%(key)s” has another reply in another menu of this account; "
                            "use another key or the same reply."
                        )
                        % {"key": key},
                        None,
                        k,
                    )
                )
            replies.setdefault(key, reply)
    return issues


def set_click_replies(data) -> dict[str, str]:
    """key → reply for every click button of the default and the conditional menus."""
    found = dict(click_replies(data))
    for item in conditional_menus(data):
        if isinstance(item, dict):
            for key, reply in click_replies(item).items():
                found.setdefault(key, reply)
    return found


def wechat_conditional_bodies(data) -> list[dict]:
    """menu/addconditional bodies, in the set's order (our reply texts left out)."""
    return [
        {**wechat_body(item), "matchrule": clean_matchrule(item.get("matchrule"))}
        for item in conditional_menus(data)
        if isinstance(item, dict)
    ]


def publish_conditional(client, data, *, had_conditional: bool) -> list[str]:
    """Make WeChat's conditional menus those of `data` (after menu/create of its default).

    Does nothing when neither this set nor the one live before has conditional menus
    (so an account without them makes no extra call). Otherwise deletes every
    conditional menu menu/get reports and adds ours last-first — repeating it after an
    interruption converges to the same result. Returns the new menuids, set order.
    """
    bodies = wechat_conditional_bodies(data)
    if not bodies and not had_conditional:
        return []
    for menuid in remote_conditional_ids(client):
        wechat_menus.delete_conditional(client, menuid)
    menuids = [wechat_menus.add_conditional(client, body) for body in reversed(bodies)]
    return list(reversed(menuids))


def remote_answer(client) -> dict:
    """menu/get, with "no menu" (46003) as an empty answer; other WeChat errors raise."""
    from wechat.errors import MENU_NOT_EXIST, WeChatError

    try:
        return wechat_menus.get(client)
    except WeChatError as exc:
        if exc.errcode == MENU_NOT_EXIST:
            return {}
        raise


def remote_conditional_items(answer: dict) -> list[dict]:
    """The conditional menus of a menu/get answer, newest (highest menuid) first."""
    items = [item for item in answer.get(CONDITIONAL) or [] if isinstance(item, dict)]
    items.sort(key=lambda item: int(str(item.get("menuid") or 0) or 0), reverse=True)
    return items


def remote_conditional_ids(client) -> list[str]:
    return [
        str(item.get("menuid"))
        for item in remote_answer(client).get(CONDITIONAL) or []
        if isinstance(item, dict) and item.get("menuid")
    ]


def remote_set(answer: dict) -> dict:
    """A menu/get answer in the set's shape: newest conditional menu first (by menuid)."""
    menu = copy.deepcopy(answer.get("menu") or {"button": []})
    menu.pop("menuid", None)
    items = remote_conditional_items(answer)
    data = {"button": menu.get("button") or []}
    if items:
        data[CONDITIONAL] = [
            {"button": item.get("button") or [], "matchrule": clean_matchrule(item.get("matchrule"))}
            for item in items
        ]
    return data


def canonical_set(data) -> list:
    """A comparable form of the whole set (`canonical` compares one tree)."""
    return [
        canonical(data),
        [
            (canonical(item), sorted(clean_matchrule(item.get("matchrule")).items()))
            for item in conditional_menus(data)
            if isinstance(item, dict)
        ],
    ]


def try_match(client, *, user_id: str, data) -> dict:
    """menu/trymatch for one user: the buttons WeChat would show, and which menu of the
    set they are (None: the default, k: conditional menu k, -1: none of ours)."""
    answer = wechat_menus.try_match(client, user_id)
    buttons = {"button": answer.get("button") or []}
    which: int | None = -1
    if canonical(buttons) == canonical(data):
        which = None
    for k, item in enumerate(conditional_menus(data)):
        if isinstance(item, dict) and canonical(buttons) == canonical(item):
            which = k
            break
    return {"menu": buttons, "matched": which}
