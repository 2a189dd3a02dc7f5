"""The API's errors: an HTTP status, a stable code and a message in Chinese and English.

Body: ``{"error": {"code": "rate_limited", "message": "…", "message_zh": "…"}}`` — clients
branch on ``code``; the messages are for people reading logs (issue 27).
"""

from __future__ import annotations

from typing import Any

from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .models import Outcome

_OUTCOME_BY_STATUS = {
    400: Outcome.BAD_REQUEST,
    401: Outcome.UNAUTHENTICATED,
    403: Outcome.FORBIDDEN,
    404: Outcome.NOT_FOUND,
    409: Outcome.BAD_REQUEST,
    413: Outcome.BAD_REQUEST,
    422: Outcome.BAD_REQUEST,
    429: Outcome.RATE_LIMITED,
    502: Outcome.WECHAT_ERROR,
    503: Outcome.WECHAT_ERROR,
}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: Promise | str,
        *,
        headers: dict[str, str] | None = None,
        zh: str | None = None,
        **params: Any,
    ) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.message = message
        self.params = params
        self.headers = headers or {}
        #: the Chinese text when the message is already rendered (a service's refusal)
        self.zh = zh

    @property
    def outcome(self) -> str:
        return _OUTCOME_BY_STATUS.get(self.status, Outcome.ERROR)

    def _render(self, language: str) -> str:
        if language != "en" and self.zh is not None:
            return self.zh
        with translation.override(language):
            text = str(self.message)
        return text % self.params if self.params else text

    def body(self) -> dict[str, Any]:
        return {
            "error": {"code": self.code, "message": self._render("en"), "message_zh": self._render("zh-hans")}
        }


def bad_address() -> ApiError:
    """A NUL in the path or the query string (as RefuseBadInputMiddleware refuses it, in JSON)."""
    return ApiError(400, "bad_request", _("The address contains a NUL character."))


def missing_key() -> ApiError:
    return ApiError(
        401,
        "missing_key",
        _("Send the API key in the header: Authorization: Bearer <key>."),
        headers={"WWW-Authenticate": 'Bearer realm="wxadmin"'},
    )


def invalid_key() -> ApiError:
    return ApiError(
        401,
        "invalid_key",
        _("The API key is unknown, revoked or expired."),
        headers={"WWW-Authenticate": 'Bearer realm="wxadmin", error="invalid_token"'},
    )


def unknown_account(appid: str) -> ApiError:
    return ApiError(404, "unknown_account", _("No official account has the AppID %(appid)s."), appid=appid)


def account_not_granted(appid: str) -> ApiError:
    return ApiError(
        403, "account_not_granted", _("This key does not give access to the account %(appid)s."), appid=appid
    )


def ip_not_allowed(ip: str) -> ApiError:
    return ApiError(
        403, "ip_not_allowed", _("Calls from %(ip)s are not in this client system's IP allow-list."), ip=ip
    )


def rate_limited(limit: int, retry_after: int) -> ApiError:
    return ApiError(
        429,
        "rate_limited",
        _("More than %(limit)s calls in a minute: wait %(seconds)s seconds."),
        headers={"Retry-After": str(retry_after)},
        limit=limit,
        seconds=retry_after,
    )


def body_too_large(limit: int) -> ApiError:
    return ApiError(413, "body_too_large", _("The request body is larger than %(limit)s bytes."), limit=limit)


def wechat_failed(errcode: int, errmsg: str) -> ApiError:
    return ApiError(
        502,
        "wechat_error",
        _("WeChat refused (errcode %(errcode)s): %(errmsg)s"),
        errcode=errcode,
        errmsg=errmsg,
    )


def wechat_ip_not_whitelisted(address: str) -> ApiError:
    """40164 on the token fetch: the server's outgoing address is not in the account's whitelist."""
    return ApiError(
        502,
        "wechat_ip_not_whitelisted",
        _(
            "WeChat refused to issue a token to this server's outgoing address %(address)s (errcode "
            "40164). Add %(address)s to the account's IP whitelist on the WeChat platform "
            "(设置与开发 → 基本配置 → IP白名单) and try again."
        ),
        address=address,
    )
