"""Reads of the api app, scoped by the one rule (accounts.selectors.accounts_visible_to)."""

from __future__ import annotations

from django.db.models import Max, OuterRef, QuerySet, Subquery

from accounts.models import OfficialAccount
from accounts.selectors import accounts_visible_to, scope_to_user

from .models import ApiCall, ApiKey, ClientSystem, JsDomain


def clients_visible_to(user) -> QuerySet[ClientSystem]:
    """Client systems all of whose accounts the user may see (superusers: all).

    A client system reaching an account the user may not see is someone else's: showing
    it would show (and let them rotate) a key to that account.
    """
    if user.is_superuser:
        return ClientSystem.objects.all()
    hidden = OfficialAccount.objects.exclude(pk__in=accounts_visible_to(user).values("pk"))
    return (
        ClientSystem.objects.filter(accounts__in=accounts_visible_to(user))
        .exclude(accounts__in=hidden)
        .distinct()
    )


def calls_visible_to(user) -> QuerySet[ApiCall]:
    return scope_to_user(ApiCall.objects.all(), user, "account")


def domains_visible_to(user) -> QuerySet[JsDomain]:
    return scope_to_user(JsDomain.objects.all(), user, "account")


def keys_with_last_use(client: ClientSystem) -> QuerySet[ApiKey]:
    """The client's keys, newest first, each with `last_used_at` (its latest audited call)."""
    last = ApiCall.objects.filter(key=OuterRef("pk")).order_by("-at").values("at")[:1]
    return client.keys.annotate(last_used_at=Subquery(last)).order_by("-created_at")


def last_use(client: ClientSystem):
    return ApiCall.objects.filter(client=client).aggregate(at=Max("at"))["at"]
