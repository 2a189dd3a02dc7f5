"""Reads about accounts shared by the admin, views and tasks of every app.

`accounts_visible_to(user)` is THE scoping rule (superusers: every account; other
active staff: the accounts assigned to them; anyone else: none). Everything a user
may see — rows of other apps, entities, form choices, filters, exports — is derived
from it here, so there is one rule to read and to test.

Below it, the reads about access-token status (R-MENU-04): which accounts the scheduled
refresh is due for, and the dashboard's counts.
"""

from __future__ import annotations

import datetime
import functools
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import F, Model, Q, QuerySet
from django.utils import timezone

from core.dashboard_figures import Figure, figure_counts
from wechat.errors import TEMPORARY_ERRCODES

from .models import (
    STABLE_RENEW_SECONDS,
    Entity,
    OfficialAccount,
    TokenSource,
    TokenState,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User


def accounts_visible_to(user: User | AnonymousUser) -> QuerySet[OfficialAccount]:
    """The accounts a staff member may see and act on (superusers: all)."""
    return OfficialAccount.objects.visible_to(user)


def user_can_access_account(user: User | AnonymousUser, account: OfficialAccount) -> bool:
    if user.is_superuser:
        return True
    return accounts_visible_to(user).filter(pk=account.pk).exists()


def entities_visible_to(user: User | AnonymousUser) -> QuerySet[Entity]:
    """Entities owning an account the user may see, or created by them while no account is
    under them yet (superusers: all).

    Issue 22 §4: once an entity has accounts, access follows those accounts only — the
    creator of an entity that now holds another tenant's accounts no longer sees it.
    Written as `pk IN (subquery)` so no join multiplies rows and no DISTINCT is needed.
    """
    if user.is_superuser:
        return Entity.objects.all()
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return Entity.objects.none()
    with_accounts = OfficialAccount.objects.filter(entity__isnull=False).values("entity")
    return Entity.objects.filter(
        Q(pk__in=accounts_visible_to(user).values("entity")) | (Q(created_by=user) & ~Q(pk__in=with_accounts))
    )


def user_can_access_entity(user: User | AnonymousUser, entity: Entity) -> bool:
    if user.is_superuser:
        return True
    return entities_visible_to(user).filter(pk=entity.pk).exists()


def scope_to_user[M: Model](
    queryset: QuerySet[M], user: User | AnonymousUser, account_path: str
) -> QuerySet[M]:
    """Limit any queryset to rows whose account (reached by `account_path`) the user may see.

    `account_path` is the lookup from the model to OfficialAccount, e.g. "account"
    for a menu, "order__account" for a reminder, or "" for OfficialAccount itself.
    Written as `account IN (subquery)`: no join multiplies rows and no DISTINCT is
    needed, so at 100,000 orders a changelist stays an index scan.
    """
    if user.is_superuser:
        return queryset
    lookup = f"{account_path}__in" if account_path else "pk__in"
    return queryset.filter(**{lookup: accounts_visible_to(user).values("pk")})


def accounts_needing_token_refresh(*, now: datetime.datetime | None = None) -> QuerySet[OfficialAccount]:
    """Accounts whose token expires within their refresh window, or was never fetched.

    Left out: accounts whose last fetch failed for a lasting reason (wrong
    AppSecret, IP whitelist...) less than TOKEN_ERROR_BACKOFF_SECONDS ago and
    whose credentials have not changed since — retrying those every minute
    would only burn the 2000-a-day quota.
    """
    now = now or timezone.now()
    classic_due = now + datetime.timedelta(seconds=settings.TOKEN_REFRESH_WINDOW_SECONDS)
    stable_due = now + datetime.timedelta(
        seconds=min(settings.TOKEN_REFRESH_WINDOW_SECONDS, STABLE_RENEW_SECONDS)
    )
    backoff_since = now - datetime.timedelta(seconds=settings.TOKEN_ERROR_BACKOFF_SECONDS)
    due = (
        Q(token_status__isnull=True)
        | Q(token_status__expires_at__isnull=True)
        | ~Q(token_status__source=F("token_source"))
        | Q(token_source=TokenSource.CLASSIC, token_status__expires_at__lte=classic_due)
        | Q(token_source=TokenSource.STABLE, token_status__expires_at__lte=stable_due)
        | Q(token_status__last_errcode__isnull=False)
    )
    backing_off = (
        Q(token_status__last_errcode__isnull=False)
        & ~Q(token_status__last_errcode__in=TEMPORARY_ERRCODES)
        & Q(token_status__last_error_at__gt=backoff_since)
        & (
            Q(credentials_changed_at__isnull=True)
            | Q(credentials_changed_at__lte=F("token_status__last_error_at"))
        )
    )
    return OfficialAccount.objects.filter(due).exclude(backing_off).order_by("pk")


def token_state_q(state: str) -> Q:
    """The accounts whose token is in `state`, as AccountTokenStatus.state() decides it."""
    now = timezone.now()
    margin = now + datetime.timedelta(seconds=settings.WECHAT_TOKEN_MARGIN_SECONDS)
    ok = Q(token_status__last_errcode__isnull=True)
    return {
        TokenState.FAILING: Q(token_status__last_errcode__isnull=False),
        TokenState.UNKNOWN: Q(token_status__isnull=True) | (ok & Q(token_status__expires_at__isnull=True)),
        TokenState.EXPIRED: ok & Q(token_status__expires_at__lte=now),
        TokenState.EXPIRING: ok & Q(token_status__expires_at__gt=now, token_status__expires_at__lte=margin),
        TokenState.VALID: ok & Q(token_status__expires_at__gt=margin),
    }[TokenState(state)]


#: One dashboard figure per token state, each also the account list's ``?figure=`` filter
#: (issue 29 §4: the figure and its list from one condition).
TOKEN_FIGURES = tuple(
    Figure(
        f"token_{state.value}",
        state.label,
        functools.partial(token_state_q, state.value),
        {
            TokenState.FAILING: "danger",
            TokenState.EXPIRED: "danger",
            TokenState.EXPIRING: "warning",
            TokenState.VALID: "success",
        }.get(state, ""),
    )
    for state in TokenState
)


def token_state_counts(*, user: User | AnonymousUser) -> dict[str, int]:
    """How many of the user's accounts have a valid / expiring / failing / unknown token."""
    accounts = scope_to_user(OfficialAccount.objects.all(), user, "")
    counts = figure_counts(accounts, TOKEN_FIGURES)
    return {state.value: counts[f"token_{state.value}"] for state in TokenState}
