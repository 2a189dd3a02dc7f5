"""Hooks through which other apps add columns and actions to the official-account admin.

`accounts` imports no other app (ARCHITECTURE.md); apps such as menus or certification
register here from their AppConfig.ready(), and the accounts admin picks them up.
"""

from collections.abc import Callable
from dataclasses import dataclass


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
