"""Project glue: the WeChat client, token store and message crypto for an OfficialAccount.

`wechat/` knows nothing about Django models; this module hands it what it needs
from the settings (Redis, API base, timeouts) and the account (AppID, secrets).
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

from django.conf import settings

from core import redis_clients
from core.metrics import token_fetch_observed
from wechat.client import WeChatClient
from wechat.crypto import MessageCrypto
from wechat.tokens import TokenInfo, TokenStore

from .token_status import token_status_record

if TYPE_CHECKING:
    from .models import OfficialAccount

_lock = threading.Lock()
_store: TokenStore | None = None
_store_key: tuple[object, ...] | None = None


def _settings_key() -> tuple[object, ...]:
    return (
        os.getpid(),
        settings.REDIS_URL,
        settings.WECHAT_API_BASE,
        settings.WECHAT_TOKEN_MARGIN_SECONDS,
        settings.WECHAT_TOKEN_LOCK_LEASE_SECONDS,
        settings.WECHAT_TOKEN_WAIT_SECONDS,
        settings.WECHAT_TOKEN_STALE_FLOOR_SECONDS,
    )


def _timeout() -> tuple[float, float]:
    return (settings.WECHAT_HTTP_CONNECT_TIMEOUT, settings.WECHAT_HTTP_READ_TIMEOUT)


def _record_fetch(info: TokenInfo) -> None:
    token_fetch_observed(appid=info.appid, ok=info.fetched, errcode=info.last_errcode)
    token_status_record(info=info)


def token_store() -> TokenStore:
    """The process's token store (rebuilt after a fork or when the settings change)."""
    global _store, _store_key
    key = _settings_key()
    if _store is None or _store_key != key:
        with _lock:
            if _store is None or _store_key != key:
                _store = TokenStore(
                    redis_clients.client(redis_clients.Purpose.TASKS),
                    base_url=settings.WECHAT_API_BASE,
                    margin_seconds=settings.WECHAT_TOKEN_MARGIN_SECONDS,
                    lock_lease_seconds=settings.WECHAT_TOKEN_LOCK_LEASE_SECONDS,
                    wait_seconds=settings.WECHAT_TOKEN_WAIT_SECONDS,
                    stale_floor_seconds=settings.WECHAT_TOKEN_STALE_FLOOR_SECONDS,
                    timeout=_timeout(),
                    on_fetch=_record_fetch,
                )
                _store_key = key
    return _store


def client_for(account: OfficialAccount, *, token_reuse_seconds: float = 0.0) -> WeChatClient:
    """A client for one account, with its token source (cgi-bin/token or stable_token);
    ``token_reuse_seconds`` for a client making many calls (see WeChatClient)."""
    return WeChatClient(
        account.appid,
        account.appsecret,
        base_url=settings.WECHAT_API_BASE,
        token_store=token_store(),
        token_source=account.token_source,
        timeout=_timeout(),
        max_attempts=settings.WECHAT_HTTP_MAX_ATTEMPTS,
        backoff_seconds=settings.WECHAT_HTTP_BACKOFF_SECONDS,
        token_reuse_seconds=token_reuse_seconds,
    )


def crypto_for(account: OfficialAccount) -> MessageCrypto:
    """Signature checks and AES for the account's callback (server token + EncodingAESKey)."""
    return MessageCrypto(account.server_token, account.encoding_aes_key, account.appid)
