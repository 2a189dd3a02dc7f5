"""Reads about access-token status shared by the admin, tasks and dashboards."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from wechat.errors import TEMPORARY_ERRCODES

from .models import OfficialAccount, TokenSource
from .services_tokens import STABLE_RENEW_SECONDS


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


def token_state_counts(*, user, now: datetime.datetime | None = None) -> dict[str, int]:
    """How many of the user's accounts have a valid / expiring / failing / unknown token."""
    from .models_tokens import AccountTokenStatus, TokenState
    from .selectors import scope_to_user

    now = now or timezone.now()
    accounts = scope_to_user(OfficialAccount.objects.all(), user, "")
    counts = {state.value: 0 for state in TokenState}
    statuses = AccountTokenStatus.objects.filter(account__in=accounts)
    seen = 0
    for status in statuses.only("expires_at", "last_errcode"):
        counts[status.state(now)] += 1
        seen += 1
    counts[TokenState.UNKNOWN] += accounts.count() - seen
    return counts
