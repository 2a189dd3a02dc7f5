"""Reads other apps may make of the audience (each import listed in pyproject's contract)."""

from __future__ import annotations

from collections.abc import Iterable

from .models import Tag


def tag_choices(account_id: int) -> list[tuple[int, str]]:
    """(WeChat tag id, name) of the account's tags, by name: the menu editor's tag picker."""
    return list(Tag.objects.filter(account_id=account_id).order_by("name").values_list("wechat_id", "name"))


def tags_by_account(account_ids: Iterable[int]) -> dict[int, dict[int, str]]:
    """account id -> {WeChat tag id: name}, in one query (the menu fan-out maps tags by name)."""
    found: dict[int, dict[int, str]] = {account_id: {} for account_id in account_ids}
    for account_id, wechat_id, name in Tag.objects.filter(account_id__in=list(found)).values_list(
        "account_id", "wechat_id", "name"
    ):
        found[account_id][wechat_id] = name
    return found
