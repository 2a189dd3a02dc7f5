"""Access tokens in Redis, fetched by one process at a time per account (R-MENU-04).

WeChat invalidates the previous classic token (after a 5-minute overlap) every
time a new one is fetched, and allows 2000 fetches a day. So across every
process and host there must be one fetch per account per refresh:

1. Read the cache (one Redis GET). More than ``margin_seconds`` left → use it.
1b. **Refresh ahead:** inside the margin but still valid for more than
   ``stale_floor_seconds``: try the lock without waiting. The one caller that gets it
   fetches the next token; every other caller — and the refresher itself if WeChat fails —
   uses the current token at once. Nobody waits on the lock while a valid token exists, and
   there is never a second refresher (the lock). After a lasting refusal (a wrong AppSecret,
   40164…), the next try waits ``REFRESH_AHEAD_RETRY_SECONDS``: not a fetch per call.
2. Missing or nearly over: take the per-account lock: ``SET lock owner NX PX lease``, with a
   random owner id so that only the owner can release it (compare-and-delete
   in Lua; a holder that outlives its lease cannot delete a successor's lock).
3. **Re-check the cache** once the lock is ours: the previous holder has
   probably just stored a fresh token. Only then fetch.
4. Callers that do not get the lock poll the cache (bounded by ``wait_seconds``)
   and take the token the holder stores. If the holder dies, its lock expires
   after the lease and the next caller takes over.

When WeChat rejects a token (40001/40014/42001), callers expire it only if it
is still the cached one (compare-and-expire in Lua): a stale rejection must
not throw away a token another process has already refreshed.

Stable tokens (``stable_token``) are cached separately from classic ones.
Nothing here ever logs a token or a secret.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import requests

from .errors import ERR_TOKEN_WAIT, WeChatError
from .transport import default_session, encode_json, exchange

if TYPE_CHECKING:
    from redis import Redis

logger = logging.getLogger("wechat.tokens")

SOURCES = ("classic", "stable")
TOKEN_PATHS = {"classic": "/cgi-bin/token", "stable": "/cgi-bin/stable_token"}

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_EXPIRE_IF_CURRENT = """
local value = redis.call('GET', KEYS[1])
if not value then return 0 end
local token = string.match(value, '^[^|]*|[^|]*|(.*)$')
if token == ARGV[1] then redis.call('DEL', KEYS[1]); return 1 end
return 0
"""


#: WeChat keeps an old token working this long after issuing a new one (5 minutes),
#: less a safety margin: after an unanswered fetch the cached token counts as ending then.
UNSEEN_TOKEN_OVERLAP_SECONDS = 240
#: after a failed refresh ahead of expiry, the current token is served this long before
#: the next try (the status hash's last_error_at says when it failed)
REFRESH_AHEAD_RETRY_SECONDS = 10.0


@dataclass(frozen=True)
class CachedToken:
    token: str
    expires_at: float
    fetched_at: float

    def __repr__(self) -> str:  # never the token
        return f"CachedToken(expires_at={self.expires_at}, fetched_at={self.fetched_at})"


@dataclass(frozen=True)
class TokenInfo:
    """What we know about an account's token — never the token itself."""

    appid: str
    source: str
    fetched_at: float | None = None
    expires_at: float | None = None
    fetches_today: int = 0
    day: str = ""
    last_errcode: int | None = None
    last_error: str = ""
    last_error_at: float | None = None
    fetched: bool = False  # did this call fetch from WeChat?
    #: when an unanswered fetch made the store treat the cached token as ending early
    ends_early_at: float | None = None


def beijing_day(now: float) -> str:
    """WeChat's daily quotas reset at midnight Beijing time."""
    return time.strftime("%Y-%m-%d", time.gmtime(now + 8 * 3600))


class TokenStore:
    """Single-flight access tokens shared by every process through Redis."""

    def __init__(
        self,
        redis_client: Redis,
        *,
        base_url: str,
        session: requests.Session | None = None,
        margin_seconds: float = 300,
        lock_lease_seconds: float = 10,
        wait_seconds: float | None = None,
        key_prefix: str = "wechat:",
        timeout: tuple[float, float] = (3.05, 10),
        poll_seconds: float = 0.02,
        on_fetch: Callable[[TokenInfo], None] | None = None,
        stale_floor_seconds: float | None = None,
    ) -> None:
        self.redis = redis_client
        self.base_url = base_url.rstrip("/")
        self._session = session
        self.margin_seconds = margin_seconds
        #: below this much life left, callers wait for the refresh instead of using the token
        self.stale_floor_seconds = (
            min(30.0, margin_seconds / 2) if stale_floor_seconds is None else stale_floor_seconds
        )
        self.lock_lease_seconds = lock_lease_seconds
        self.wait_seconds = lock_lease_seconds + 5 if wait_seconds is None else wait_seconds
        self.prefix = key_prefix
        self.timeout = timeout
        self.poll_seconds = poll_seconds
        self.on_fetch = on_fetch
        self.clock: Callable[[], float] = time.time
        self._release = redis_client.register_script(_RELEASE)
        self._expire_if_current = redis_client.register_script(_EXPIRE_IF_CURRENT)

    @property
    def session(self) -> requests.Session:
        return self._session if self._session is not None else default_session()

    # --- keys ---------------------------------------------------------------------------
    def token_key(self, appid: str, source: str) -> str:
        return f"{self.prefix}token:{source}:{appid}"

    def lock_key(self, appid: str, source: str) -> str:
        return f"{self.prefix}token-lock:{source}:{appid}"

    def info_key(self, appid: str, source: str) -> str:
        return f"{self.prefix}token-info:{source}:{appid}"

    def fetches_key(self, appid: str, source: str, day: str) -> str:
        return f"{self.prefix}token-fetches:{source}:{appid}:{day}"

    # --- reads ----------------------------------------------------------------------------
    def cached(self, appid: str, *, source: str = "classic") -> CachedToken | None:
        value = self.redis.get(self.token_key(appid, _check_source(source)))
        return _parse(value) if value else None

    def get_token(self, appid: str, secret: str | Callable[[], str], *, source: str = "classic") -> str:
        """A token with more than ``margin_seconds`` left, fetching it at most once cluster-wide
        (inside the margin, the still-valid token while one caller refreshes ahead)."""
        return self.get_cached(appid, secret, source=source).token

    def get_cached(
        self, appid: str, secret: str | Callable[[], str], *, source: str = "classic"
    ) -> CachedToken:
        """`get_token` with the token's expiry; ``secret`` may be a function, called only to fetch."""
        value = self.redis.get(self.token_key(appid, _check_source(source)))
        if value:
            current = _parse(value)
            left = current.expires_at - self.clock()
            if left > self.margin_seconds:
                return current
            if left > self.stale_floor_seconds:
                return self._refresh_ahead(appid, secret, source, current)
        cached: CachedToken | None
        try:
            cached, _ = self._single_flight(appid, secret, source, min_ttl=self.margin_seconds, force=False)
        except WeChatError:
            # Refreshing ahead failed, but the token we have may still work for a while.
            cached = self.cached(appid, source=source)
            if cached is None or cached.expires_at - self.clock() <= 5:
                raise
            logger.warning("using the current %s token of %s until a refresh succeeds", source, appid)
        return cached

    def _refresh_ahead(
        self, appid: str, secret: str | Callable[[], str], source: str, current: CachedToken
    ) -> CachedToken:
        """The token is inside the margin and still valid: one caller (the lock's taker) renews
        it; the others, and the renewer when WeChat fails, use it without waiting."""
        lock_key = self.lock_key(appid, source)
        owner = uuid.uuid4().hex
        if not self.redis.set(lock_key, owner, nx=True, px=int(self.lock_lease_seconds * 1000)):
            return current  # someone is renewing it: use the current one meanwhile
        try:
            cached = self.cached(appid, source=source)
            if cached and cached.expires_at - self.clock() > self.margin_seconds:
                return cached  # renewed by the previous holder
            info = self.status(appid, source=source)
            if (
                info is not None
                and info.last_errcode is not None
                and info.last_error_at is not None
                and self.clock() - info.last_error_at < REFRESH_AHEAD_RETRY_SECONDS
                and not WeChatError(info.last_errcode, info.last_error, api=TOKEN_PATHS[source]).temporary
            ):
                return cached or current  # a lasting refusal a moment ago: not one fetch per call
            return self._fetch_and_store(appid, secret, source)
        except WeChatError:
            logger.warning("using the current %s token of %s until a refresh succeeds", source, appid)
            return self.cached(appid, source=source) or current
        finally:
            self._release(keys=[lock_key], args=[owner])

    def refresh(
        self,
        appid: str,
        secret: str,
        *,
        source: str = "classic",
        force: bool = False,
        min_ttl_seconds: float | None = None,
    ) -> TokenInfo:
        """Make sure the cached token has at least ``min_ttl_seconds`` (default: the margin) left.

        ``force`` fetches a new one anyway — unless another process fetched one
        while we waited for the lock, which is just as new. Idempotent otherwise.
        """
        min_ttl = self.margin_seconds if min_ttl_seconds is None else min_ttl_seconds
        _, fetched = self._single_flight(appid, secret, _check_source(source), min_ttl=min_ttl, force=force)
        info = self.status(appid, source=source) or TokenInfo(appid=appid, source=source)
        return TokenInfo(**{**info.__dict__, "fetched": fetched})

    def status(self, appid: str, *, source: str = "classic") -> TokenInfo | None:
        raw = self.redis.hgetall(self.info_key(appid, _check_source(source)))
        day = beijing_day(self.clock())
        fetches = int(self.redis.get(self.fetches_key(appid, source, day)) or 0)
        if not raw and not fetches:
            return None
        data = {_str(k): _str(v) for k, v in raw.items()}
        return TokenInfo(
            appid=appid,
            source=source,
            fetched_at=_float(data.get("fetched_at")),
            expires_at=_float(data.get("expires_at")),
            fetches_today=fetches,
            day=day,
            last_errcode=int(data["last_errcode"]) if data.get("last_errcode") else None,
            last_error=data.get("last_error", ""),
            last_error_at=_float(data.get("last_error_at")),
            ends_early_at=_float(data.get("ends_early_at")),
        )

    def expire_if_current(self, appid: str, token: str, *, source: str = "classic") -> bool:
        """Forget the cached token only if it is still ``token`` (compare-and-expire)."""
        return bool(
            self._expire_if_current(keys=[self.token_key(appid, _check_source(source))], args=[token])
        )

    # --- the single flight -------------------------------------------------------------------
    def _single_flight(
        self, appid: str, secret: str | Callable[[], str], source: str, *, min_ttl: float, force: bool
    ) -> tuple[CachedToken, bool]:
        lock_key = self.lock_key(appid, source)
        owner = uuid.uuid4().hex
        started = self.clock()
        deadline = time.monotonic() + self.wait_seconds
        lease_ms = int(self.lock_lease_seconds * 1000)
        while True:
            if self.redis.set(lock_key, owner, nx=True, px=lease_ms):
                try:
                    cached = self.cached(appid, source=source)
                    # Re-check: the previous holder has probably just stored a fresh token.
                    if cached and self._fresh_enough(cached, min_ttl, force, started):
                        return cached, False
                    self._raise_recent_failure(appid, source, started)
                    return self._fetch_and_store(appid, secret, source), True
                finally:
                    self._release(keys=[lock_key], args=[owner])
            cached = self.cached(appid, source=source)
            if cached and self._fresh_enough(cached, min_ttl, force, started):
                return cached, False
            if time.monotonic() >= deadline:
                if cached and not force and cached.expires_at > self.clock():
                    return cached, False  # still valid: better than nothing
                raise WeChatError(
                    ERR_TOKEN_WAIT, "timed out waiting for the token lock", api=TOKEN_PATHS[source]
                )
            time.sleep(self.poll_seconds)

    def _fresh_enough(self, cached: CachedToken, min_ttl: float, force: bool, started: float) -> bool:
        if force:
            # Fetched by someone else after we began (strictly: a frozen test clock must
            # not make an older token look new).
            return cached.fetched_at > started
        return cached.expires_at - self.clock() > min_ttl

    def _raise_recent_failure(self, appid: str, source: str, started: float) -> None:
        """If the holder we waited for just failed for a lasting reason, fail the same way.

        Without this, 32 waiting callers would each retry a wrong AppSecret.
        """
        info = self.status(appid, source=source)
        if info and info.last_errcode is not None and info.last_error_at and info.last_error_at > started:
            error = WeChatError(info.last_errcode, info.last_error, api=TOKEN_PATHS[source])
            if not error.temporary:
                raise error

    def _fetch_and_store(self, appid: str, secret: str | Callable[[], str], source: str) -> CachedToken:
        if callable(secret):
            secret = secret()
        api = TOKEN_PATHS[source]
        url = self.base_url + api
        # The whole fetch must fit in the lease, or a second process would fetch too.
        budget = self.lock_lease_seconds * 0.8
        read_timeout = max(0.5, min(self.timeout[1], budget - self.timeout[0]))
        began = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                if source == "stable":
                    payload = exchange(
                        self.session,
                        "POST",
                        url,
                        api=api,
                        timeout=(self.timeout[0], read_timeout),
                        data=encode_json(
                            {
                                "grant_type": "client_credential",
                                "appid": appid,
                                "secret": str(secret),
                                "force_refresh": False,
                            }
                        ),
                    )
                else:
                    payload = exchange(
                        self.session,
                        "GET",
                        url,
                        api=api,
                        timeout=(self.timeout[0], read_timeout),
                        params={"grant_type": "client_credential", "appid": appid, "secret": str(secret)},
                    )
                token = payload.get("access_token")
                if not token:
                    raise WeChatError(-1003, "no access_token in the answer", api=api)
                break
            except WeChatError as error:
                if error.request_sent:  # WeChat counts every fetch that reached it
                    self._count_fetch(appid, source)
                if error.may_have_acted:
                    self._end_soon(appid, source)
                self._record_error(appid, source, error)
                elapsed = time.monotonic() - began
                if error.temporary and attempt < 3 and elapsed + read_timeout < budget:
                    time.sleep(min(0.2 * 2 ** (attempt - 1), 1.0))
                    continue
                raise
        now = self.clock()
        expires_in = int(payload.get("expires_in") or 7200)
        cached = CachedToken(token, now + expires_in, now)
        fetches = self._count_fetch(appid, source)
        pipe = self.redis.pipeline()
        pipe.set(
            self.token_key(appid, source),
            f"{int(cached.expires_at * 1000)}|{int(now * 1000)}|{token}",
            px=max(1, expires_in * 1000),
        )
        pipe.hset(
            self.info_key(appid, source),
            mapping={
                "fetched_at": f"{now:.3f}",
                "expires_at": f"{cached.expires_at:.3f}",
                "last_errcode": "",
                "last_error": "",
                "last_error_at": "",
                "ends_early_at": "",
            },
        )
        pipe.execute()
        logger.info(
            "fetched %s access token for %s (expires in %ss, %s fetches today)",
            source,
            appid,
            expires_in,
            fetches,
        )
        self._notify(appid, source, fetched=True)
        return cached

    def _end_soon(self, appid: str, source: str) -> None:
        """A fetch was sent and no answer came back: WeChat may have issued a token we never
        saw, which ends the cached one after the overlap (docs/wechat-protocol.md: old and
        new tokens both work for 5 minutes). Treat the cached token as ending then, minus
        a safety margin, so that the next `get_token` (inside `margin_seconds`) refreshes
        again promptly, single-flight (issue 23, point 7). Called with the lock held."""
        value = self.redis.get(self.token_key(appid, source))
        if not value:
            return
        expires_ms, fetched_ms, token = _str(value).split("|", 2)
        now = self.clock()
        ends = min(int(expires_ms) / 1000, now + UNSEEN_TOKEN_OVERLAP_SECONDS)
        pipe = self.redis.pipeline()
        pipe.set(
            self.token_key(appid, source),
            f"{int(ends * 1000)}|{fetched_ms}|{token}",
            px=max(1, int((ends - now) * 1000)),
        )
        pipe.hset(
            self.info_key(appid, source), mapping={"expires_at": f"{ends:.3f}", "ends_early_at": f"{now:.3f}"}
        )
        pipe.execute()
        logger.warning(
            "unanswered %s token fetch for %s: the cached token is treated as ending in %.0fs",
            source,
            appid,
            ends - now,
        )

    def _count_fetch(self, appid: str, source: str) -> int:
        key = self.fetches_key(appid, source, beijing_day(self.clock()))
        pipe = self.redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, 3 * 86400)
        return int(pipe.execute()[0])

    def _record_error(self, appid: str, source: str, error: WeChatError) -> None:
        self.redis.hset(
            self.info_key(appid, source),
            mapping={
                "last_errcode": str(error.errcode),
                "last_error": error.errmsg,
                "last_error_at": f"{self.clock():.3f}",
            },
        )
        logger.warning("access token fetch for %s failed: errcode=%s %s", appid, error.errcode, error.errmsg)
        self._notify(appid, source, fetched=False)

    def _notify(self, appid: str, source: str, *, fetched: bool) -> None:
        if self.on_fetch is None:
            return
        try:
            info = self.status(appid, source=source)
            if info is not None:
                self.on_fetch(TokenInfo(**{**info.__dict__, "fetched": fetched}))
        except Exception:  # status bookkeeping must never break a token fetch
            logger.exception("on_fetch callback failed for %s", appid)


def _check_source(source: str) -> str:
    if source not in SOURCES:
        raise ValueError(f"token source must be one of {SOURCES}")
    return source


def _parse(value: bytes | str) -> CachedToken:
    expires_ms, fetched_ms, token = _str(value).split("|", 2)
    return CachedToken(token, int(expires_ms) / 1000, int(fetched_ms) / 1000)


def _str(value: bytes | str) -> str:
    """A Redis value as text (the client is not built with ``decode_responses``)."""
    return value.decode() if isinstance(value, bytes) else value


def _float(value: str | None) -> float | None:
    return float(value) if value else None
