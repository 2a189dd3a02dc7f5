"""Every API call passes here: the key, the account, the allow-list, the rate limit, the audit.

What one call costs on the hot path, pinned in tests/test_hot_path_cost.py: NO query and TWO
Redis round trips — the rate-limit counter, the key generation and the cached token (or ticket)
pipelined in one, and the audit row pushed in the other (api/audit.py writes it behind).

The key, its client system and the account are read from PostgreSQL once (one query, plus the
account's JS-SDK domains) and kept in the process for up to KEY_CACHE_SECONDS. Any change to a
client system, key, JS-SDK domain or account bumps a generation number in Redis
(`forget_keys`), read in the same round trip as the rate limit: a revoked or rotated key is
refused by every process from its next call, not after the cache expires. Nothing is fetched
from WeChat on a refusal.
"""

from __future__ import annotations

import datetime
import ipaddress
import logging
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import cast

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest
from django.utils import timezone

from accounts.client_ip import client_ip
from accounts.models import OfficialAccount
from accounts.wechat_api import token_store
from core.metrics import api_call_observed

from . import audit, errors, keys
from .models import ApiKey, ClientSystem, JsDomain, parse_networks

logger = logging.getLogger(__name__)

RATE_WINDOW_SECONDS = 60
KEY_CACHE_SECONDS = 30.0
GENERATION = "wxadmin:api:keys-generation"


@dataclass(frozen=True)
class KeyInfo:
    """What the checks need about one key for one AppID (no ORM objects: safe to share)."""

    key_id: int
    prefix: str
    key_hash: str
    key_revoked: bool
    key_retires_at: datetime.datetime | None
    client_id: int
    client_revoked: bool
    client_expires_at: datetime.datetime | None
    allowed_ips: str
    rate_limit: int
    can_send_templates: bool
    account_id: int | None
    granted: bool
    token_source: str
    js_domains: frozenset[str]
    generation: bytes | None


@dataclass
class Call:
    """One API call in progress: who, for which account, and how it ended (for the audit)."""

    endpoint: str
    appid: str
    ip: str | None
    info: KeyInfo | None = None
    prefetched: dict = field(default_factory=dict)
    #: audit rows to push once the answer is sent (ApiFastPath's list), or None: push at once
    deferred: list[str] | None = None

    @property
    def account_id(self) -> int | None:
        return self.info.account_id if self.info else None

    @property
    def token_source(self) -> str:
        return self.info.token_source if self.info else "classic"

    def account(self) -> OfficialAccount:
        """The account with its credentials (only when WeChat must be called)."""
        assert self.account_id is not None
        return OfficialAccount.objects.get(pk=self.account_id)


_cache_lock = threading.Lock()
_cache: dict[tuple[str, str], tuple[float, KeyInfo]] = {}


def forget_keys() -> None:
    """Make every process re-read keys and accounts from the database on its next call."""
    token_store().redis.incr(GENERATION)


def _load(prefix: str, appid: str) -> KeyInfo | None:
    """The key with its client system and the account behind `appid`: one query (and one for
    the account's JS-SDK domains)."""
    generation = cast("bytes | None", token_store().redis.get(GENERATION))
    through = ClientSystem.accounts.through
    account = OfficialAccount.objects.filter(appid=appid)
    key = (
        ApiKey.objects.select_related("client")
        .annotate(
            account_pk=Subquery(account.values("pk")[:1]),
            account_token_source=Subquery(account.values("token_source")[:1]),
            granted=Subquery(
                through.objects.filter(
                    clientsystem_id=OuterRef("client_id"), officialaccount__appid=appid
                ).values("officialaccount_id")[:1]
            ),
        )
        .filter(prefix=prefix)
        .first()
    )
    if key is None:
        return None
    account_pk = key.account_pk
    domains = (
        frozenset(JsDomain.objects.filter(account_id=account_pk).values_list("domain", flat=True))
        if account_pk is not None and key.granted is not None
        else frozenset()
    )
    return KeyInfo(
        key_id=key.pk,
        prefix=key.prefix,
        key_hash=key.key_hash,
        key_revoked=key.revoked_at is not None,
        key_retires_at=key.retires_at,
        client_id=key.client_id,
        client_revoked=key.client.revoked_at is not None,
        client_expires_at=key.client.expires_at,
        allowed_ips=key.client.allowed_ips,
        rate_limit=key.client.rate_limit_per_minute,
        can_send_templates=key.client.can_send_templates,
        account_id=account_pk,
        granted=key.granted is not None,
        token_source=key.account_token_source or "classic",
        js_domains=domains,
        generation=generation,
    )


def _lookup(prefix: str, appid: str, *, fresh: bool = False) -> KeyInfo | None:
    now = time.monotonic()
    found = None if fresh else _cache.get((prefix, appid))
    if found is not None and now - found[0] < KEY_CACHE_SECONDS:
        return found[1]
    info = _load(prefix, appid)
    with _cache_lock:
        if len(_cache) > 10_000:
            _cache.clear()
        if info is None:
            _cache.pop((prefix, appid), None)
        else:
            _cache[(prefix, appid)] = (now, info)
    return info


@lru_cache(maxsize=256)
def _networks(text: str):
    return tuple(parse_networks(text))


def _ip_allowed(allowed: str, ip: str | None) -> bool:
    if not allowed.strip():
        return True
    if ip is None:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in network for network in _networks(allowed))


def _check(call: Call, info: KeyInfo | None, raw: str) -> KeyInfo:
    if info is None or not keys.matches(raw, info.key_hash):
        raise errors.invalid_key()
    call.info = info
    now = timezone.now()
    if (
        info.key_revoked
        or info.client_revoked
        or (info.key_retires_at is not None and info.key_retires_at <= now)
        or (info.client_expires_at is not None and info.client_expires_at <= now)
    ):
        raise errors.invalid_key()
    if not _ip_allowed(info.allowed_ips, call.ip):
        raise errors.ip_not_allowed(call.ip or "?")
    if info.account_id is None:
        raise errors.unknown_account(call.appid)
    if not info.granted:
        raise errors.account_not_granted(call.appid)
    return info


def open_call(request: HttpRequest, *, endpoint: str, appid: str, prefetch: tuple[str, ...] = ()) -> Call:
    """Check the caller; raises an ApiError (audited by the error handler) or returns the call,
    with the Redis values named in `prefetch` ("token", "ticket") read in the rate limit's round
    trip."""
    call = Call(
        endpoint=endpoint,
        appid=appid[:32],
        ip=client_ip(request),
        deferred=getattr(request, "api_deferred_audit", None),
    )
    request.api_call = call  # type: ignore[attr-defined]  # read by the error handler for the audit
    header = request.headers.get("authorization", "")
    if not header:
        raise errors.missing_key()
    scheme, _, raw = header.partition(" ")
    raw = raw.strip()
    prefix = keys.prefix_of(raw) if scheme.lower() == "bearer" else None
    if prefix is None:
        raise errors.invalid_key()
    info = _check(call, _lookup(prefix, appid), raw)
    count, generation = _rate_limit_and_prefetch(call, info, prefetch)
    if generation != info.generation:  # something changed since the key was cached
        info = _check(call, _lookup(prefix, appid, fresh=True), raw)
    if count > info.rate_limit:
        now = time.time()
        retry_after = max(1, int((now // RATE_WINDOW_SECONDS + 1) * RATE_WINDOW_SECONDS - now) + 1)
        raise errors.rate_limited(info.rate_limit, retry_after)
    return call


def _rate_limit_and_prefetch(
    call: Call, info: KeyInfo, prefetch: tuple[str, ...]
) -> tuple[int, bytes | None]:
    """A fixed one-minute window per client system, counted in Redis (shared by every process)."""
    store = token_store()
    window = int(time.time() // RATE_WINDOW_SECONDS)
    counter = f"wxadmin:api:rate:{info.client_id}:{window}"
    pipe = store.redis.pipeline(transaction=False)
    pipe.incr(counter)
    pipe.expire(counter, RATE_WINDOW_SECONDS * 2)
    pipe.get(GENERATION)
    for name in prefetch:
        pipe.get(_prefetch_key(name, call))
    results = pipe.execute()
    call.prefetched = dict(zip(prefetch, results[3:], strict=True))
    return int(results[0]), results[2]


def _prefetch_key(name: str, call: Call) -> str:
    if name == "token":
        return token_store().token_key(call.appid, call.token_source)
    from .jssdk import ticket_store

    return ticket_store().ticket_key(call.appid)


def close_call(call: Call | None, *, status: int, outcome: str, error_code: str = "") -> None:
    """The audit row and the metric of a finished call; never raises. Under `ApiFastPath` the
    row is pushed once the answer has been sent (`push_audit`), off the caller's wait."""
    if call is None:
        return
    api_call_observed(endpoint=call.endpoint, outcome=outcome)
    info = call.info
    row = audit.row(
        client_id=info.client_id if info else None,
        key_id=info.key_id if info else None,
        key_prefix=info.prefix if info else "",
        account_id=call.account_id,
        appid=call.appid,
        endpoint=call.endpoint,
        outcome=outcome,
        status=status,
        error_code=error_code,
        ip=call.ip,
    )
    if call.deferred is not None:
        call.deferred.append(row)
    else:
        push_audit([row])


def push_audit(rows: list[str]) -> None:
    """Queue audit rows for `audit.flush` (one Redis command); never raises."""
    if not rows:
        return
    try:
        token_store().redis.rpush(audit.QUEUE, *rows)
    except Exception:
        logger.exception("could not queue %s API audit rows", len(rows))


def forget_keys_after_commit(**_kwargs) -> None:
    """Signal receiver: bump the generation once the change is committed."""
    transaction.on_commit(forget_keys)
