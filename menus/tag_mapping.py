"""A conditional menu's user tag, carried from one account to another BY NAME (issue 24).

A match rule holds WeChat's numeric ``tag_id``, which is the account's own: tag 101 is "VIP"
on one account and "老客户" (or nothing) on the next. So copying or fanning a tag-based
conditional menu out to other accounts looks the tag's name up on the source account and
puts the target account's id for that name in the rule; an account without a tag of that
name is refused, named, with the tag's name, instead of getting a wrong id. The tags are
the audience app's (synced from WeChat's tags/get).
"""

from __future__ import annotations

import copy
from typing import Any

from django.utils.translation import gettext as _

from accounts.models import OfficialAccount
from audience.selectors import tags_by_account

from .conditional import CONDITIONAL, SetIssue, clean_matchrule, conditional_menus

#: WeChat's system tags, the same on every account (tags/get; protocol §h)
SYSTEM_TAG_IDS = frozenset({0, 1, 2})


def uses_tags(data: Any) -> bool:
    return any(
        isinstance(item, dict) and "tag_id" in clean_matchrule(item.get("matchrule"))
        for item in conditional_menus(data)
    )


def map_for_targets(
    data: Any, *, source: OfficialAccount | None, targets: list[OfficialAccount]
) -> dict[int, tuple[Any, list[SetIssue]]]:
    """target account id -> (the data with its tag ids, the issues refusing it). Two queries
    whatever the number of targets; data without tag rules is returned unchanged."""
    if not uses_tags(data):
        return {target.pk: (data, []) for target in targets}
    tags = tags_by_account([t.pk for t in targets] + ([source.pk] if source is not None else []))
    source_names = tags.get(source.pk, {}) if source is not None else {}
    out: dict[int, tuple[Any, list[SetIssue]]] = {}
    for target in targets:
        if source is not None and target.pk == source.pk:
            out[target.pk] = (data, [])
            continue
        by_name = {name: wechat_id for wechat_id, name in tags.get(target.pk, {}).items()}
        mapped = copy.deepcopy(data)
        issues: list[SetIssue] = []
        for k, item in enumerate(mapped.get(CONDITIONAL) or []):
            if not isinstance(item, dict):
                continue
            rule = clean_matchrule(item.get("matchrule"))
            if "tag_id" not in rule:
                continue
            issue = _map_one(rule, k, source, source_names, by_name, target)
            if issue is not None:
                issues.append(issue)
            item["matchrule"] = rule
        out[target.pk] = (mapped, issues)
    return out


def _map_one(
    rule: dict[str, str],
    menu: int,
    source: OfficialAccount | None,
    source_names: dict[int, str],
    target_ids: dict[str, int],
    target: OfficialAccount,
) -> SetIssue | None:
    tag_id = int(rule["tag_id"]) if rule["tag_id"].isdigit() else -1
    if tag_id in SYSTEM_TAG_IDS:
        return None  # WeChat's own tags (0, 1 星标组, 2): the same id on every account
    name = source_names.get(tag_id)
    if name is None:
        return SetIssue(
            (),
            "matchrule.tag_id",
            _(
                "The conditional menu's user tag %(id)s is not a known tag of the source account "
                "(sync its tags first), so it cannot be matched by name on %(account)s."
            )
            % {"id": rule["tag_id"], "account": target},
            None,
            menu,
        )
    if name not in target_ids:
        return SetIssue(
            (),
            "matchrule.tag_id",
            _("%(account)s has no tag named “%(name)s”: create it there (or sync its tags) first.")
            % {"account": target, "name": name},
            None,
            menu,
        )
    rule["tag_id"] = str(target_ids[name])
    return None
