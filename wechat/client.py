"""The WeChat API client: one per account, over a pooled requests session.

It is the transport only (``call``, the session, the token); the endpoints are plain
functions in ``wechat/api/``, one module per area of WeChat's API, that take the
client first: ``menus.create(client, menu)``.

Error handling, once for every endpoint:

- any ``errcode`` ≠ 0 raises :class:`~wechat.errors.WeChatError`;
- temporary errors (-1, 45011, network, timeouts) are retried with exponential
  backoff, at most ``max_attempts`` times. A call that changes something and
  whose request may have reached WeChat (read timeout, dropped connection) is
  not re-sent, so a customer-service message is never sent twice;
- 45009 (daily quota) is never retried;
- a failed token fetch raises with ``request_sent`` False: the call was not made;
- 40001/40014/42001: the token is expired in the store *only if it is still
  the cached one*, a fresh one is taken (fetched by one process), and the call
  is retried once — never a loop.

Bodies are UTF-8 JSON with Chinese unescaped and an explicit Content-Type;
answers are decoded as UTF-8 whatever their Content-Type says. Logs name the
API path, never the URL (it carries the token).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from .errors import WeChatError
from .tokens import TokenStore
from .transport import Timeout, default_session, encode_json, exchange

logger = logging.getLogger("wechat.client")

#: A decoded JSON object, as sent to and received from WeChat.
JSONObject = dict[str, Any]


class WeChatClient:
    def __init__(
        self,
        appid: str,
        secret: str,
        *,
        base_url: str,
        token_store: TokenStore,
        token_source: str = "classic",  # noqa: S107 (a source name, not a password)
        session: requests.Session | None = None,
        timeout: Timeout = (3.05, 10),
        max_attempts: int = 3,
        backoff_seconds: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        token_reuse_seconds: float = 0.0,
    ) -> None:
        self.appid = appid
        self._secret = secret
        self.base_url = base_url.rstrip("/")
        self.token_store = token_store
        self.token_source = token_source
        self._session = session
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self.backoff_seconds = backoff_seconds
        self.sleep = sleep
        #: > 0: the token read from the store is reused this long (a sender making hundreds of
        #: calls a second saves a Redis round trip each); never past the store's own margin.
        self.token_reuse_seconds = token_reuse_seconds
        self._reused: tuple[str, float] | None = None  # (token, monotonic time to read again)

    def __repr__(self) -> str:
        return f"WeChatClient(appid={self.appid!r}, source={self.token_source!r})"

    @property
    def session(self) -> requests.Session:
        return self._session if self._session is not None else default_session()

    # --- the one call path --------------------------------------------------------------
    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: JSONObject | None = None,
        files: Mapping[str, Any] | None = None,
        idempotent: bool = True,
    ) -> JSONObject:
        """Call ``path`` with the account's token; see the module docstring for retries."""
        data = encode_json(body) if body is not None else None
        token = self._token()
        refreshed = False
        attempt = 1
        while True:
            try:
                result = exchange(
                    self.session,
                    method,
                    self.base_url + path,
                    api=path,
                    params={**(params or {}), "access_token": token},
                    data=data,
                    files=_rewound(files),
                    timeout=self.timeout,
                )
                logger.debug("wechat %s ok (attempt %s)", path, attempt)
                return result
            except WeChatError as error:
                if error.is_token_error and not refreshed:
                    refreshed = True
                    self._reused = None  # the next read goes to the store
                    expired = self.token_store.expire_if_current(self.appid, token, source=self.token_source)
                    logger.info(
                        "wechat %s: token rejected (%s), %s",
                        path,
                        error.errcode,
                        "expired it" if expired else "already replaced elsewhere",
                    )
                    token = self._token()
                    continue
                if (
                    error.temporary
                    and attempt < self.max_attempts
                    and (idempotent or not error.may_have_acted)
                ):
                    delay = self.backoff_seconds * 2 ** (attempt - 1) * (1 + random.random() / 4)
                    logger.info(
                        "wechat %s: temporary error %s, retry %s in %.2fs",
                        path,
                        error.errcode,
                        attempt,
                        delay,
                    )
                    attempt += 1
                    self.sleep(delay)
                    continue
                logger.warning("wechat %s failed: errcode=%s %s", path, error.errcode, error.errmsg)
                raise

    def _token(self) -> str:
        """The token for a call. A failed token fetch means the call itself never left:
        its error says so (`request_sent` False), whatever the fetch's own request did,
        so that a caller never records "may have reached the user" for it (issue 23)."""
        reused = self._reused
        if reused is not None and time.monotonic() < reused[1]:
            return reused[0]
        try:
            if self.token_reuse_seconds <= 0:
                return self.token_store.get_token(self.appid, self._secret, source=self.token_source)
            cached = self.token_store.get_cached(self.appid, self._secret, source=self.token_source)
            # WeChat keeps a replaced token valid 5 minutes, and the store hands it out only with
            # more than its margin left: reusing it a second or two is safe.
            left = cached.expires_at - self.token_store.clock()
            reuse = min(self.token_reuse_seconds, left - 5)
            self._reused = (cached.token, time.monotonic() + reuse) if reuse > 0 else None
            return cached.token
        except WeChatError as error:
            if not error.request_sent:
                raise
            raise WeChatError(
                error.errcode, error.errmsg, api=error.api, temporary=error.temporary, request_sent=False
            ) from error


def _rewound(files: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Files are passed as bytes so that a retry sends them again in full."""
    return dict(files) if files else None
