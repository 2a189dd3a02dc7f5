"""JS-SDK for client systems: the account's jsapi_ticket (one fetch per expiry, in Redis) and
the wx.config signature of a page on one of the account's JS-SDK domains (issue 27,
wechat-protocol.md §h; the algorithm and its official example: wechat/api/jssdk.py)."""

from __future__ import annotations

import os
import secrets
import threading
import time

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from accounts.wechat_api import client_for, token_store
from wechat.api import jssdk

from . import errors
from .jsdomains import page_host

_lock = threading.Lock()
_store: tuple[tuple, jssdk.TicketStore] | None = None


def ticket_store() -> jssdk.TicketStore:
    """The process's ticket store, on the token store's Redis client (rebuilt after a fork)."""
    global _store
    key = (
        os.getpid(),
        settings.REDIS_URL,
        settings.WECHAT_TOKEN_MARGIN_SECONDS,
        settings.WECHAT_TOKEN_STALE_FLOOR_SECONDS,
    )
    if _store is None or _store[0] != key:
        with _lock:
            if _store is None or _store[0] != key:
                _store = (
                    key,
                    jssdk.TicketStore(
                        token_store().redis,
                        margin_seconds=settings.WECHAT_TOKEN_MARGIN_SECONDS,
                        lock_lease_seconds=settings.WECHAT_TOKEN_LOCK_LEASE_SECONDS,
                        wait_seconds=settings.WECHAT_TOKEN_WAIT_SECONDS,
                        stale_floor_seconds=settings.WECHAT_TOKEN_STALE_FLOOR_SECONDS,
                    ),
                )
    return _store[1]


def check_page_url(url: str, domains: frozenset[str]) -> str:
    """The URL to sign, or an ApiError: http(s), no fragment, on one of the account's domains."""
    if "#" in url:
        raise errors.ApiError(
            400,
            "url_has_fragment",
            _("Send the page URL without its #… part (location.href.split('#')[0])."),
        )
    host = page_host(url)
    if host is None:
        raise errors.ApiError(
            400, "invalid_url", _("The URL must be a full http:// or https:// page address.")
        )
    if host not in domains:
        raise errors.ApiError(
            403,
            "domain_not_registered",
            _("%(host)s is not one of this account's JS-SDK domains (ask staff to add it)."),
            host=host,
        )
    return url


def config(
    *, appid: str, account_id: int, domains: frozenset[str], url: str, cached_ticket: bytes | None
) -> dict:
    """appId, timestamp, nonceStr and signature for wx.config."""
    check_page_url(url, domains)
    store = ticket_store()
    ticket = None
    if cached_ticket:
        expires_ms, _sep, value = cached_ticket.decode().partition("|")
        if int(expires_ms) / 1000 - time.time() > store.margin_seconds:
            ticket = value
    if ticket is None:  # missing or refreshing ahead: the account is read only to fetch
        from accounts.models import OfficialAccount

        ticket = store.get_ticket(lambda: client_for(OfficialAccount.objects.get(pk=account_id)), appid=appid)
    timestamp = int(time.time())
    nonce = secrets.token_urlsafe(12)
    return {
        "appId": appid,
        "timestamp": timestamp,
        "nonceStr": nonce,
        "signature": jssdk.signature(ticket=ticket, noncestr=nonce, timestamp=timestamp, url=url),
    }
