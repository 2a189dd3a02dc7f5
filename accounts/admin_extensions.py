"""Hooks through which other apps add columns and actions to the official-account admin.

`accounts` imports no other app (ARCHITECTURE.md); apps such as menus or certification
register here from their AppConfig.ready(), and the accounts admin picks them up.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AccountColumn:
    name: str
    render: Callable  # (account) -> str | SafeString
    description: str  # translatable column header
    prefetch: tuple[str, ...] = ()  # related names to prefetch/select for the changelist


_columns: list[AccountColumn] = []
_actions: list[Callable] = []


def register_account_column(*, name: str, render: Callable, description, prefetch=()) -> None:
    """Add a changelist column to the official-account admin (idempotent by name)."""
    if any(column.name == name for column in _columns):
        return
    _columns.append(AccountColumn(name, render, description, tuple(prefetch)))


def register_account_action(action: Callable) -> None:
    """Add an admin action (a function decorated with @admin.action) to the account admin."""
    if action not in _actions:
        _actions.append(action)


def account_columns() -> list[AccountColumn]:
    return list(_columns)


def account_actions() -> list[Callable]:
    return list(_actions)


# --- links on one follower (an OpenID of an account) -----------------------------------------
@dataclass(frozen=True)
class FollowerLink:
    """A link another app offers wherever one follower is shown (the follower list, the
    conversation page), to the users `allowed(request)` admits: `url(account_id, openid)`
    (issue 26: "send a template message" from both pages, without audience or messaging
    importing notifications)."""

    name: str
    label: Any  # translatable
    url: Callable[[int, str], str]
    allowed: Callable[[Any], bool]


_follower_links: list[FollowerLink] = []


def register_follower_link(
    *, name: str, label: Any, url: Callable[[int, str], str], allowed: Callable[[Any], bool]
) -> None:
    """Offer a link on every follower (idempotent by name); from an AppConfig.ready()."""
    if any(link.name == name for link in _follower_links):
        return
    _follower_links.append(FollowerLink(name, label, url, allowed))


def follower_links_for(request: Any) -> list[FollowerLink]:
    """The links this user may follow (ask once per page)."""
    return [link for link in _follower_links if link.allowed(request)]


def follower_links(request: Any, account_id: int, openid: str) -> list[tuple[str, str]]:
    """(label, url) of every link this user may follow for one follower."""
    return [(str(link.label), link.url(account_id, openid)) for link in follower_links_for(request)]
