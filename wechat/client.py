"""The WeChat API client: one per account, over a pooled requests session.

Error handling, once for every endpoint:

- any ``errcode`` ≠ 0 raises :class:`~wechat.errors.WeChatError`;
- temporary errors (-1, 45011, network, timeouts) are retried with exponential
  backoff, at most ``max_attempts`` times. A call that changes something and
  whose request may have reached WeChat (read timeout, dropped connection) is
  not re-sent, so a customer-service message is never sent twice;
- 45009 (daily quota) is never retried;
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
from typing import TYPE_CHECKING, Any

import requests

from .errors import WeChatError
from .tokens import TokenStore
from .transport import Timeout, default_session, encode_json, exchange

if TYPE_CHECKING:
    from _typeshed import SupportsRead

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
        return self.token_store.get_token(self.appid, self._secret, source=self.token_source)

    # --- menus ----------------------------------------------------------------------------
    def menu_create(self, menu: JSONObject) -> None:
        """Replace the default menu (idempotent: the whole menu is sent every time)."""
        self.call("POST", "/cgi-bin/menu/create", body=menu)

    def menu_get(self) -> JSONObject:
        """The API-set menu; raises WeChatError 46003 when there is none."""
        return self.call("GET", "/cgi-bin/menu/get")

    def menu_delete(self) -> None:
        self.call("GET", "/cgi-bin/menu/delete")

    def get_current_selfmenu_info(self) -> JSONObject:
        return self.call("GET", "/cgi-bin/get_current_selfmenu_info")

    def menu_add_conditional(self, menu: JSONObject) -> str:
        """Add a conditional menu (``{"button": [...], "matchrule": {...}}``); its menuid."""
        return str(self.call("POST", "/cgi-bin/menu/addconditional", body=menu, idempotent=False)["menuid"])

    def menu_delete_conditional(self, menuid: str) -> None:
        self.call("POST", "/cgi-bin/menu/delconditional", body={"menuid": str(menuid)})

    def menu_try_match(self, user_id: str) -> JSONObject:
        return self.call("POST", "/cgi-bin/menu/trymatch", body={"user_id": user_id})

    # --- quota ----------------------------------------------------------------------------
    def clear_quota(self) -> None:
        """Reset this account's daily API counts (WeChat allows 10 a month: 48006 after)."""
        self.call("POST", "/cgi-bin/clear_quota", body={"appid": self.appid}, idempotent=False)

    # --- customer service (lists under /cgi-bin/customservice/, the rest under /customservice/)
    def kf_list(self) -> list[JSONObject]:
        accounts: list[JSONObject] = self.call("GET", "/cgi-bin/customservice/getkflist").get("kf_list", [])
        return accounts

    def kf_online_list(self) -> list[JSONObject]:
        online: list[JSONObject] = self.call("GET", "/cgi-bin/customservice/getonlinekflist").get(
            "kf_online_list", []
        )
        return online

    def kf_add(self, kf_account: str, nickname: str) -> None:
        self.call(
            "POST",
            "/customservice/kfaccount/add",
            body={"kf_account": kf_account, "nickname": nickname},
            idempotent=False,
        )

    def kf_update(self, kf_account: str, nickname: str) -> None:
        self.call(
            "POST", "/customservice/kfaccount/update", body={"kf_account": kf_account, "nickname": nickname}
        )

    def kf_delete(self, kf_account: str) -> None:
        self.call("POST", "/customservice/kfaccount/del", body={"kf_account": kf_account}, idempotent=False)

    def kf_upload_avatar(self, kf_account: str, fileobj: SupportsRead[bytes] | bytes, filename: str) -> None:
        content = fileobj.read() if hasattr(fileobj, "read") else bytes(fileobj)
        self.call(
            "POST",
            "/customservice/kfaccount/uploadheadimg",
            params={"kf_account": kf_account},
            files={"media": (filename, content, "image/jpeg")},
        )

    def kf_invite_worker(self, kf_account: str, invite_wx: str) -> None:
        self.call(
            "POST",
            "/customservice/kfaccount/inviteworker",
            body={"kf_account": kf_account, "invite_wx": invite_wx},
            idempotent=False,
        )

    def kf_session_create(self, kf_account: str, openid: str) -> None:
        self.call(
            "POST", "/customservice/kfsession/create", body={"kf_account": kf_account, "openid": openid}
        )

    def kf_session_close(self, kf_account: str, openid: str) -> None:
        self.call(
            "POST",
            "/customservice/kfsession/close",
            body={"kf_account": kf_account, "openid": openid},
            idempotent=False,
        )

    def kf_session_get(self, openid: str) -> JSONObject:
        return self.call("GET", "/customservice/kfsession/getsession", params={"openid": openid})

    def kf_session_list(self, kf_account: str) -> list[JSONObject]:
        sessions: list[JSONObject] = self.call(
            "GET", "/customservice/kfsession/getsessionlist", params={"kf_account": kf_account}
        ).get("sessionlist", [])
        return sessions

    def kf_wait_cases(self) -> JSONObject:
        return self.call("GET", "/customservice/kfsession/getwaitcase")

    # --- temporary media ---------------------------------------------------------------
    def media_upload(
        self, kind: str, content: bytes, filename: str, content_type: str = "application/octet-stream"
    ) -> str:
        """Upload temporary media (``kind`` image/voice/video/thumb; WeChat keeps it 3 days);
        its media_id. Not re-sent once it may have reached WeChat (a second copy is harmless
        but counts against the quota)."""
        result = self.call(
            "POST",
            "/cgi-bin/media/upload",
            params={"type": kind},
            files={"media": (filename, content, content_type)},
            idempotent=False,
        )
        return str(result["media_id"])

    # --- customer-service messages ----------------------------------------------------------
    def message_custom_send(self, payload: JSONObject) -> None:
        """Send a customer-service message; never re-sent once it may have reached WeChat."""
        self.call("POST", "/cgi-bin/message/custom/send", body=payload, idempotent=False)

    def typing(self, openid: str, typing: bool = True) -> None:
        """Show (or hide) "typing…" in the user's chat."""
        self.call(
            "POST",
            "/cgi-bin/message/custom/typing",
            body={"touser": openid, "command": "Typing" if typing else "CancelTyping"},
        )

    def send_text(self, openid: str, content: str, *, kf_account: str | None = None) -> None:
        payload: JSONObject = {"touser": openid, "msgtype": "text", "text": {"content": content}}
        if kf_account:
            payload["customservice"] = {"kf_account": kf_account}
        self.message_custom_send(payload)


def _rewound(files: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Files are passed as bytes so that a retry sends them again in full."""
    return dict(files) if files else None
