"""One HTTP exchange with WeChat, turned into a dict or a WeChatError.

Shared by the token store and the client. Requests' own exceptions carry the
full URL — with the access token or the AppSecret in its query — so they are
never chained, logged or put in messages: only their class name survives.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any, TypeAlias

import requests
import urllib3
from requests.adapters import HTTPAdapter

from .errors import ERR_BAD_RESPONSE, ERR_NETWORK, ERR_TIMEOUT, WeChatError

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
_local = threading.local()
#: (connect, read) seconds, or one number for both, as requests takes it.
Timeout: TypeAlias = float | tuple[float, float]


def new_session(pool_maxsize: int = 32) -> requests.Session:
    """A pooled session (keep-alive) for WeChat calls; no retries below us, we retry above."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_maxsize, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = "wxadmin-wechat/1.0"
    return session


def default_session() -> requests.Session:
    """One pooled session per thread (requests.Session is not documented as thread-safe)."""
    session: requests.Session | None = getattr(_local, "session", None)
    if session is None:
        session = _local.session = new_session()
    return session


def encode_json(body: Mapping[str, Any]) -> bytes:
    """UTF-8 JSON with Chinese left unescaped, as WeChat expects (it counts bytes of names)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def exchange(
    session: requests.Session,
    method: str,
    url: str,
    *,
    api: str,
    params: Mapping[str, Any] | None = None,
    data: bytes | None = None,
    files: Mapping[str, Any] | None = None,
    timeout: Timeout = (3.05, 10),
) -> dict[str, Any]:
    """Send one request; return the decoded JSON object or raise WeChatError.

    Errors (``errcode`` non-zero) raise with the defaults of WeChatError (sent,
    refused); transport failures raise with our own negative codes and say
    whether the request was sent (and so whether WeChat may have acted).
    """
    headers = {"Content-Type": JSON_CONTENT_TYPE} if data is not None else None
    try:
        response = session.request(
            method, url, params=params, data=data, files=files, headers=headers, timeout=timeout
        )
    except requests.exceptions.ConnectTimeout:
        raise _transport_error(ERR_TIMEOUT, "ConnectTimeout", api, sent=False) from None
    except requests.exceptions.Timeout as exc:
        raise _transport_error(ERR_TIMEOUT, type(exc).__name__, api, sent=True) from None
    except requests.exceptions.ConnectionError as exc:
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        sent = not isinstance(reason, urllib3.exceptions.NewConnectionError)
        raise _transport_error(ERR_NETWORK, type(exc).__name__, api, sent=sent) from None
    except requests.exceptions.RequestException as exc:
        raise _transport_error(ERR_NETWORK, type(exc).__name__, api, sent=True) from None
    if response.status_code != 200:
        raise _transport_error(
            ERR_BAD_RESPONSE,
            f"HTTP {response.status_code}",
            api,
            sent=True,
            temporary=response.status_code >= 500,
        )
    try:
        # UTF-8 whatever the Content-Type says (WeChat sends "encoding=utf-8", not charset).
        payload = json.loads(response.content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _transport_error(ERR_BAD_RESPONSE, "response is not JSON", api, sent=True) from None
    if not isinstance(payload, dict):
        raise _transport_error(ERR_BAD_RESPONSE, "response is not a JSON object", api, sent=True)
    errcode = payload.get("errcode", 0)
    if errcode not in (0, None, "0"):
        try:
            errcode = int(errcode)
        except (TypeError, ValueError):
            errcode = ERR_BAD_RESPONSE
        raise WeChatError(errcode, str(payload.get("errmsg", "")), api=api)
    return payload


def _transport_error(
    code: int, message: str, api: str, *, sent: bool, temporary: bool | None = None
) -> WeChatError:
    # No error answer came back: once sent, WeChat may have acted on the request.
    return WeChatError(code, message, api=api, temporary=temporary, request_sent=sent, may_have_acted=sent)
