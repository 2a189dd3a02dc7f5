"""Every API call passes here: the key, the account, the allow-list, the rate limit, the audit.

What one call costs, pinned in tests/test_hot_path_cost.py: ONE query (the key, its client
system and the account, together), ONE Redis round trip (the rate-limit counter and the cached
token, pipelined), and the audit row's INSERT. Nothing is fetched from WeChat on a refusal.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from dataclasses import dataclass, field
from functools import lru_cache

from django.db.models import OuterRef, Subquery
from django.http import HttpRequest
from django.utils import timezone

from accounts.client_ip import client_ip
from accounts.models import OfficialAccount
from accounts.wechat_api import token_store
from core.metrics import api_call_observed

from . import errors, keys
from .models import ApiCall, ApiKey, ClientSystem, Outcome, parse_networks

logger = logging.getLogger(__name__)

RATE_WINDOW_SECONDS = 60


@dataclass
class Call:
    """One API call in progress: who, for which account, and how it ended (for the audit)."""

    endpoint: str
    appid: str
    ip: str | None
    key: ApiKey | None = None
    account_id: int | None = None
    token_source: str = "classic"
    outcome: str = Outcome.OK
    status: int = 200
    error_code: str = ""
    prefetched: dict = field(default_factory=dict)

    @property
    def client(self) -> ClientSystem:
        assert self.key is not None
        return self.key.client

    def account(self) -> OfficialAccount:
        """The account with its credentials (only when WeChat must be called)."""
        assert self.account_id is not None
        return OfficialAccount.objects.get(pk=self.account_id)


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


def _find_key(prefix: str, appid: str) -> ApiKey | None:
    """The key with its client system, and the account behind `appid`: one query."""
    through = ClientSystem.accounts.through
    account = OfficialAccount.objects.filter(appid=appid)
    return (
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


def open_call(request: HttpRequest, *, endpoint: str, appid: str, prefetch: tuple[str, ...] = ()) -> Call:
    """Check the caller; raises an ApiError (audited by the caller of `open_call`) or returns
    the call, with the Redis values named in `prefetch` ("token", "ticket") already read in the
    rate limit's round trip."""
    call = Call(endpoint=endpoint, appid=appid[:32], ip=client_ip(request))
    request.api_call = call  # type: ignore[attr-defined]  # read by the error handler for the audit
    header = request.headers.get("authorization", "")
    if not header:
        raise errors.missing_key()
    scheme, _, raw = header.partition(" ")
    prefix = keys.prefix_of(raw.strip()) if scheme.lower() == "bearer" else None
    if prefix is None:
        raise errors.invalid_key()
    key = _find_key(prefix, appid)
    if key is None or not keys.matches(raw.strip(), key.key_hash):
        raise errors.invalid_key()
    call.key = key
    now = timezone.now()
    client = key.client
    if (
        key.revoked_at is not None
        or (key.retires_at is not None and key.retires_at <= now)
        or not client.is_active
    ):
        raise errors.invalid_key()
    if not _ip_allowed(client.allowed_ips, call.ip):
        raise errors.ip_not_allowed(call.ip or "?")
    call.account_id = key.account_pk  # type: ignore[attr-defined]
    if call.account_id is None:
        raise errors.unknown_account(appid)
    if key.granted is None:  # type: ignore[attr-defined]
        raise errors.account_not_granted(appid)
    call.token_source = key.account_token_source  # type: ignore[attr-defined]
    _rate_limit_and_prefetch(call, client, prefetch)
    return call


def _rate_limit_and_prefetch(call: Call, client: ClientSystem, prefetch: tuple[str, ...]) -> None:
    """A fixed one-minute window per client system, counted in Redis (shared by every process)."""
    store = token_store()
    now = time.time()
    window = int(now // RATE_WINDOW_SECONDS)
    counter = f"wxadmin:api:rate:{client.pk}:{window}"
    pipe = store.redis.pipeline(transaction=False)
    pipe.incr(counter)
    pipe.expire(counter, RATE_WINDOW_SECONDS * 2)
    for name in prefetch:
        pipe.get(_prefetch_key(name, call))
    results = pipe.execute()
    if int(results[0]) > client.rate_limit_per_minute:
        retry_after = max(1, int((window + 1) * RATE_WINDOW_SECONDS - now) + 1)
        raise errors.rate_limited(client.rate_limit_per_minute, retry_after)
    call.prefetched = dict(zip(prefetch, results[2:], strict=True))


def _prefetch_key(name: str, call: Call) -> str:
    if name == "token":
        return token_store().token_key(call.appid, call.token_source)
    from .jssdk import ticket_store

    return ticket_store().ticket_key(call.appid)


def close_call(call: Call | None, *, status: int, outcome: str, error_code: str = "") -> None:
    """The audit row and the metric of a finished call; never raises (the answer matters more)."""
    if call is None:
        return
    call.status, call.outcome, call.error_code = status, outcome, error_code
    api_call_observed(endpoint=call.endpoint, outcome=outcome)
    try:
        ApiCall.objects.create(
            client=call.key.client if call.key else None,
            key=call.key,
            key_prefix=call.key.prefix if call.key else "",
            account_id=call.account_id,
            appid=call.appid,
            endpoint=call.endpoint,
            outcome=outcome,
            status=status,
            error_code=error_code,
            ip=call.ip,
        )
    except Exception:
        logger.exception("could not write the audit row of an API call (%s %s)", call.endpoint, status)
