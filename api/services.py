"""Writes of the api app (issue 27): register a client system, rotate and revoke its keys, list
an account's JS-SDK domains. Keyword-only, one transaction each, by an Actor."""

from __future__ import annotations

import datetime
import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import OfficialAccount
from core.domain_errors import DomainError
from core.typing import Actor

from .gate import forget_keys
from .keys import new_key
from .models import ApiKey, ClientSystem

logger = logging.getLogger(__name__)

#: how long a rotated key keeps working by default
DEFAULT_GRACE = datetime.timedelta(hours=24)
MAX_GRACE = datetime.timedelta(days=30)


class ApiClientError(DomainError, ValueError):
    """A change to a client system that the rules refuse."""


def issue_key(*, client: ClientSystem, by: Actor) -> str:
    """A new key for the client; returns the key, which is shown once and never stored."""
    if client.revoked_at is not None:
        raise ApiClientError(_("This client system is revoked: it cannot get a new key."))
    key, prefix, digest = new_key()
    ApiKey.objects.create(client=client, prefix=prefix, key_hash=digest)
    logger.info("api key %s issued for client system %s by %s", prefix, client.pk, getattr(by, "pk", by))
    return key


@transaction.atomic
def register_client(
    *,
    name: str,
    accounts: list[OfficialAccount],
    by: Actor,
    allowed_ips: str = "",
    rate_limit_per_minute: int = 600,
    expires_at: datetime.datetime | None = None,
) -> tuple[ClientSystem, str]:
    """A client system for `accounts` and its first key (shown once)."""
    if not accounts:
        raise ApiClientError(_("Choose at least one official account."))
    client = ClientSystem.objects.create(
        name=name,
        allowed_ips=allowed_ips,
        rate_limit_per_minute=rate_limit_per_minute,
        expires_at=expires_at,
        created_by=by if getattr(by, "pk", None) else None,
    )
    client.accounts.set(accounts)
    return client, issue_key(client=client, by=by)


@transaction.atomic
def rotate_key(*, client: ClientSystem, by: Actor, grace: datetime.timedelta = DEFAULT_GRACE) -> str:
    """A new key; the keys in use keep working for `grace` (at most 30 days), then stop.

    Both work during the grace period, so the client system can be redeployed with the new
    key without a moment where neither works.
    """
    if grace < datetime.timedelta(0) or grace > MAX_GRACE:
        raise ApiClientError(_("The grace period must be between 0 and 30 days."))
    client = ClientSystem.objects.select_for_update().get(pk=client.pk)
    retires_at = timezone.now() + grace
    current = client.keys.filter(revoked_at__isnull=True)
    current.filter(retires_at__isnull=True).update(retires_at=retires_at)
    current.filter(retires_at__gt=retires_at).update(retires_at=retires_at)
    transaction.on_commit(forget_keys)
    return issue_key(client=client, by=by)


@transaction.atomic
def revoke_client(*, client: ClientSystem, by: Actor) -> int:
    """Every key of the client stops working at once; returns how many were still valid."""
    now = timezone.now()
    ClientSystem.objects.filter(pk=client.pk, revoked_at__isnull=True).update(revoked_at=now)
    revoked = client.keys.filter(revoked_at__isnull=True).update(revoked_at=now)
    transaction.on_commit(forget_keys)
    logger.info("client system %s revoked by %s (%s keys)", client.pk, getattr(by, "pk", by), revoked)
    client.refresh_from_db()
    return revoked
