"""JS-SDK (wechat-protocol.md §h): the ``jsapi_ticket`` and the ``wx.config`` signature.

Facts, from the official JS-SDK page (developers.weixin.qq.com/doc/offiaccount/OA_Web_Apps/
JS-SDK.html, 附录1 "JS-SDK使用权限签名算法"):

- ``GET /cgi-bin/ticket/getticket?access_token=…&type=jsapi`` answers
  ``{"errcode":0,"errmsg":"ok","ticket":"…","expires_in":7200}``. The call's quota is small
  and "开发者必须在自己的服务全局缓存jsapi_ticket": one fetch per expiry, cluster-wide
  (:class:`TicketStore`).
- The signature is ``sha1`` of ``jsapi_ticket=…&noncestr=…&timestamp=…&url=…`` — the keys
  in ASCII order, raw values, no URL-escaping — where ``url`` is the page's URL without
  ``#`` and what follows. The page's worked example (ticket ``sM4AOVdW…``, noncestr
  ``Wm3WZYTPz0wzccnW``, timestamp ``1414587457``, url ``http://mp.weixin.qq.com?params=value``)
  gives ``0f9de62fce790f9a083d5c99e95740ceb90c27ed``; the test checks it.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from wechat.client import JSONObject, WeChatClient
from wechat.errors import ERR_TOKEN_WAIT, WeChatError

if TYPE_CHECKING:
    from redis import Redis

logger = logging.getLogger("wechat.jssdk")

TICKET_API = "/cgi-bin/ticket/getticket"

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_EXPIRE_IF_CURRENT = """
local value = redis.call('GET', KEYS[1])
if not value then return 0 end
if string.match(value, '^[^|]*|(.*)$') == ARGV[1] then redis.call('DEL', KEYS[1]); return 1 end
return 0
"""


def get_ticket(client: WeChatClient, ticket_type: str = "jsapi") -> JSONObject:
    """``{"ticket": …, "expires_in": …}`` — fetch it through :class:`TicketStore`, not per page."""
    return client.call("GET", TICKET_API, params={"type": ticket_type})


def page_url(url: str) -> str:
    """The URL that is signed: everything before the first ``#``."""
    return url.split("#", 1)[0]


def signature(*, ticket: str, noncestr: str, timestamp: int | str, url: str) -> str:
    """WeChat's ``wx.config`` signature (see the module docstring for the rule and its test)."""
    fields = {"jsapi_ticket": ticket, "noncestr": noncestr, "timestamp": str(timestamp), "url": page_url(url)}
    string1 = "&".join(f"{key}={fields[key]}" for key in sorted(fields))
    return hashlib.sha1(string1.encode(), usedforsecurity=False).hexdigest()


class TicketStore:
    """``jsapi_ticket`` per account in Redis, fetched by one process at a time.

    The same single flight as the access token's store (wechat/tokens.py): read the cache;
    when fewer than ``margin_seconds`` remain, take a per-account ``SET NX PX`` lock with a
    random owner, re-check the cache under it, and only then fetch; callers without the lock
    poll the cache for at most ``wait_seconds``. The value is ``expires_ms|ticket``.

    Refresh ahead, as the token store: while the ticket still has more than
    ``stale_floor_seconds`` left, callers that find the lock taken use it at once instead of
    waiting, and a failed renewal leaves the current ticket in use.
    """

    def __init__(
        self,
        redis_client: Redis,
        *,
        margin_seconds: float = 300,
        lock_lease_seconds: float = 10,
        wait_seconds: float = 15,
        poll_seconds: float = 0.02,
        key_prefix: str = "wechat:",
        stale_floor_seconds: float | None = None,
    ) -> None:
        self.redis = redis_client
        self.margin_seconds = margin_seconds
        self.stale_floor_seconds = (
            min(30.0, margin_seconds / 2) if stale_floor_seconds is None else stale_floor_seconds
        )
        self.lock_lease_seconds = lock_lease_seconds
        self.wait_seconds = wait_seconds
        self.poll_seconds = poll_seconds
        self.prefix = key_prefix
        self.clock: Callable[[], float] = time.time
        self._release = redis_client.register_script(_RELEASE)
        self._expire_if_current = redis_client.register_script(_EXPIRE_IF_CURRENT)

    def ticket_key(self, appid: str) -> str:
        return f"{self.prefix}jsapi-ticket:{appid}"

    def lock_key(self, appid: str) -> str:
        return f"{self.prefix}jsapi-ticket-lock:{appid}"

    def cached(self, appid: str) -> tuple[str, float] | None:
        """(ticket, expires_at) when one is cached."""
        value = self.redis.get(self.ticket_key(appid))
        if not value:
            return None
        expires_ms, ticket = (value.decode() if isinstance(value, bytes) else str(value)).split("|", 1)
        return ticket, int(expires_ms) / 1000

    def expire_if_current(self, appid: str, ticket: str) -> bool:
        """Forget the cached ticket only if it is still ``ticket`` (compare-and-expire, as the
        token store does): a stale report cannot throw away a ticket fetched since."""
        return bool(self._expire_if_current(keys=[self.ticket_key(appid)], args=[ticket]))

    def _fresh(self, appid: str) -> str | None:
        found = self.cached(appid)
        if found and found[1] - self.clock() > self.margin_seconds:
            return found[0]
        return None

    def get_ticket(
        self, client: WeChatClient | Callable[[], WeChatClient], *, appid: str | None = None
    ) -> str:
        """A ticket with more than ``margin_seconds`` left, fetched at most once cluster-wide.

        ``client`` may be a function making the client (with ``appid``): it is called only
        when a fetch is needed, so a cached ticket costs no database read for the account."""
        if isinstance(client, WeChatClient):
            appid = client.appid
        assert appid is not None, "give the appid with a client factory"
        found = self.cached(appid)
        if found and found[1] - self.clock() > self.margin_seconds:
            return found[0]
        if found and found[1] - self.clock() > self.stale_floor_seconds:
            return self._refresh_ahead(client, appid, found[0])
        owner = uuid.uuid4().hex
        deadline = time.monotonic() + self.wait_seconds
        while True:
            if self.redis.set(self.lock_key(appid), owner, nx=True, px=int(self.lock_lease_seconds * 1000)):
                try:
                    return self._fresh(appid) or self._fetch_and_store(_make(client), appid)
                finally:
                    self._release(keys=[self.lock_key(appid)], args=[owner])
            ticket = self._fresh(appid)
            if ticket:
                return ticket
            if time.monotonic() >= deadline:
                found = self.cached(appid)
                if found and found[1] > self.clock():
                    return found[0]  # still valid: better than nothing
                raise WeChatError(ERR_TOKEN_WAIT, "timed out waiting for the ticket lock", api=TICKET_API)
            time.sleep(self.poll_seconds)

    def _refresh_ahead(
        self, client: WeChatClient | Callable[[], WeChatClient], appid: str, current: str
    ) -> str:
        owner = uuid.uuid4().hex
        if not self.redis.set(self.lock_key(appid), owner, nx=True, px=int(self.lock_lease_seconds * 1000)):
            return current  # someone is renewing it
        try:
            return self._fresh(appid) or self._fetch_and_store(_make(client), appid)
        except WeChatError:
            logger.warning("using the current jsapi_ticket of %s until a refresh succeeds", appid)
            return current
        finally:
            self._release(keys=[self.lock_key(appid)], args=[owner])

    def _fetch_and_store(self, client: WeChatClient, appid: str) -> str:
        answer = get_ticket(client)
        ticket = str(answer.get("ticket") or "")
        if not ticket:
            raise WeChatError(-1003, "no ticket in the answer", api=TICKET_API)
        expires_in = int(answer.get("expires_in") or 7200)
        expires_at = self.clock() + expires_in
        self.redis.set(
            self.ticket_key(appid), f"{int(expires_at * 1000)}|{ticket}", px=max(1, expires_in * 1000)
        )
        logger.info("fetched the jsapi_ticket of %s (expires in %ss)", appid, expires_in)
        return ticket


def _make(client: WeChatClient | Callable[[], WeChatClient]) -> WeChatClient:
    return client if isinstance(client, WeChatClient) else client()
