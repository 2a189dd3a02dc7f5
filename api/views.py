"""The client-system API, /api/v1/ (issue 27), on Django Ninja: typed endpoints and an OpenAPI
schema served with its docs page at /api/v1/docs.

Every endpoint passes `gate.open_call` first (in the auth callable, before the body is parsed):
the key, the account, the allow-list, the rate limit. Every answer — success or refusal — is
audited by `gate.close_call`. Errors are JSON (`errors.ApiError.body`), never a traceback.
"""

from __future__ import annotations

import logging
import time

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext_lazy as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer
from pydantic import Field

from accounts.wechat_api import client_for, token_store
from wechat.api import basic
from wechat.errors import WeChatError, address_refused

from . import errors, gate, idempotency, sends
from . import jssdk as js
from .models import Outcome

logger = logging.getLogger(__name__)

#: the largest body an endpoint reads (a page URL fits in far less)…
MAX_BODY_BYTES = 8 * 1024
#: …but a batch of template messages (up to sends.MAX_BATCH recipients with their values)
BODY_LIMITS = {"template-messages": 1024 * 1024}
#: what each endpoint reads from Redis in the rate limit's round trip
PREFETCH = {"access-token": ("token",), "jssdk-config": ("ticket",)}


class ApiKeyAuth(HttpBearer):
    """Bearer API key; the checks themselves are `gate.open_call`'s (audited refusals)."""

    def __call__(self, request: HttpRequest):
        match = request.resolver_match
        endpoint = match.url_name if match and match.url_name else "unknown"
        appid = str(match.kwargs.get("appid", "")) if match else ""
        limit = BODY_LIMITS.get(endpoint, MAX_BODY_BYTES)
        if int(request.META.get("CONTENT_LENGTH") or 0) > limit:
            request.api_call = gate.Call(endpoint=endpoint, appid=appid[:32], ip=None)  # type: ignore[attr-defined]
            raise errors.body_too_large(limit)
        return gate.open_call(request, endpoint=endpoint, appid=appid, prefetch=PREFETCH.get(endpoint, ()))

    def authenticate(self, request: HttpRequest, token: str):  # pragma: no cover - __call__ does it
        return None


api = NinjaAPI(
    title="wxadmin API",
    version="1",
    urls_namespace="api-v1",
    description="Access tokens, JS-SDK signatures and template messages of your official accounts, "
    "from one place. See docs/api.md.",
    auth=ApiKeyAuth(),
)


def _error_response(request: HttpRequest, error: errors.ApiError) -> JsonResponse:
    gate.close_call(
        getattr(request, "api_call", None), status=error.status, outcome=error.outcome, error_code=error.code
    )
    response = JsonResponse(error.body(), status=error.status, json_dumps_params={"ensure_ascii": False})
    for name, value in error.headers.items():
        response[name] = value
    return response


@api.exception_handler(errors.ApiError)
def _api_error(request, exc):
    return _error_response(request, exc)


@api.exception_handler(NinjaValidationError)
def _invalid(request, exc):
    fields = ", ".join(".".join(str(part) for part in e.get("loc", ())[1:]) or "body" for e in exc.errors)
    return _error_response(
        request,
        errors.ApiError(400, "invalid_request", _("Invalid or missing fields: %(fields)s."), fields=fields),
    )


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    return _error_response(request, errors.invalid_key())


@api.exception_handler(HttpError)
def _http_error(request, exc):
    return _error_response(
        request, errors.ApiError(exc.status_code, "bad_request", _("The request is not valid."))
    )


@api.exception_handler(WeChatError)
def _wechat_error(request, exc):
    if exc.errcode == 40164:
        return _error_response(request, errors.wechat_ip_not_whitelisted(address_refused(exc.errmsg) or "?"))
    error = errors.wechat_failed(exc.errcode, exc.errmsg)
    if exc.temporary:
        error.status = 503
    return _error_response(request, error)


@api.exception_handler(Exception)
def _crash(request, exc):
    logger.error("API call failed", exc_info=exc)
    return _error_response(
        request,
        errors.ApiError(500, "server_error", _("Something went wrong on our side; it has been logged.")),
    )


class AccessToken(Schema):
    access_token: str
    expires_in: int = Field(description="seconds the token stays valid")
    source: str = Field(description="classic (cgi-bin/token) or stable (cgi-bin/stable_token)")


class ErrorBody(Schema):
    error: dict


class JsSdkRequest(Schema):
    url: str = Field(max_length=2048, description="the page's full URL, without #…")


class JsSdkConfig(Schema):
    appId: str
    timestamp: int
    nonceStr: str
    signature: str


class MiniProgram(Schema):
    appid: str = Field(max_length=32)
    pagepath: str = Field("", max_length=200)


class Recipient(Schema):
    touser: str = Field(max_length=64, description="the follower's OpenID")
    data: dict[str, str | dict[str, str]] | None = Field(
        None, description="this recipient's values (merged over the shared `data`)"
    )


class TemplateSendRequest(Schema):
    template_id: str = Field(max_length=64, description="WeChat's template ID (synced in wxadmin)")
    touser: str | None = Field(None, max_length=64, description="one follower's OpenID…")
    tag_id: int | None = Field(None, ge=0, description="…or every follower with this tag…")
    messages: list[Recipient] | None = Field(
        None, description=f"…or a batch of 1 to {sends.MAX_BATCH} recipients, each with its values"
    )
    data: dict[str, str | dict[str, str]] = Field(
        default_factory=dict,
        description='the keywords\' values: {"thing1": "…"} (WeChat\'s {"thing1": {"value": "…"}} too)',
    )
    url: str = Field("", max_length=500)
    miniprogram: MiniProgram | None = None


class DeliveryRef(Schema):
    id: int
    touser: str


class SendAccepted(Schema):
    send_id: int
    status: str
    total: int
    deliveries: list[DeliveryRef]
    status_url: str


class DeliveryState(Schema):
    id: int
    touser: str
    status: str
    msgid: int | None
    errcode: int | None
    error: str
    finished_at: str | None


class SendState(Schema):
    send_id: int
    status: str
    status_note: str
    total: int
    sent: int
    failed: int
    created_at: str
    finished_at: str | None
    deliveries: list[DeliveryState]
    next_after: int | None = Field(description="pass as `after` for the next page; null at the end")


ERRORS = {
    400: ErrorBody,
    401: ErrorBody,
    403: ErrorBody,
    404: ErrorBody,
    409: ErrorBody,
    413: ErrorBody,
    422: ErrorBody,
    429: ErrorBody,
    502: ErrorBody,
}


@api.get(
    "/accounts/{appid}/access-token",
    url_name="access-token",
    response={200: AccessToken, **ERRORS},
    summary="The account's current access token",
)
def access_token(request, appid: str, force: bool = False):
    """The token wxadmin keeps for the account, never fetched per call.

    `force=1` (with your rejected token in `X-Rejected-Token`) replaces the token only if it is
    still the current one and WeChat confirms it is invalid: two systems cannot knock each
    other's token out.
    """
    call: gate.Call = request.auth
    store = token_store()
    source = call.token_source
    cached = call.prefetched.get("token")
    token, expires_at = _parse_token(cached)
    if force and token:
        rejected = request.headers.get("x-rejected-token")
        if (rejected is None or rejected == token) and basic.token_rejected(
            client_for(call.account()), token
        ):
            store.expire_if_current(call.appid, token, source=source)
            token = None
    now = time.time()
    if token is None or expires_at - now <= store.margin_seconds:
        # missing, or refreshing ahead: the account (and its AppSecret) is read only if this
        # caller is the one that fetches; the others get the still-valid token at once
        current = store.get_cached(call.appid, lambda: str(call.account().appsecret), source=source)
        token, expires_at = current.token, current.expires_at
    gate.close_call(call, status=200, outcome=Outcome.OK)
    # An HttpResponse is passed through: no second validation of what the code just built
    # (the schema above stays the documented answer).
    return _json(200, {"access_token": token, "expires_in": max(0, int(expires_at - now)), "source": source})


def _parse_token(value: bytes | None) -> tuple[str | None, float]:
    if not value:
        return None, 0.0
    expires_ms, _fetched, token = value.decode().split("|", 2)
    return token, int(expires_ms) / 1000


@api.post(
    "/accounts/{appid}/jssdk-config",
    url_name="jssdk-config",
    response={200: JsSdkConfig, **ERRORS},
    summary="wx.config parameters for a page",
)
def jssdk_config(request, appid: str, payload: JsSdkRequest):
    """appId, timestamp, nonceStr and signature for `wx.config` on the page `url`, which must be
    on one of the account's JS-SDK domains (staff list them in wxadmin)."""
    call: gate.Call = request.auth
    assert call.account_id is not None and call.info is not None
    result = js.config(
        domains=call.info.js_domains,
        appid=call.appid,
        account_id=call.account_id,
        url=payload.url,
        cached_ticket=call.prefetched.get("ticket"),
    )
    gate.close_call(call, status=200, outcome=Outcome.OK)
    return _json(200, result)  # passed through, as access-token's


def _json(status: int, body: dict, **headers: str) -> JsonResponse:
    response = JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
    for name, value in headers.items():
        response[name] = value
    return response


@api.post(
    "/accounts/{appid}/template-messages",
    url_name="template-messages",
    response={202: SendAccepted, **ERRORS},
    summary="Send a template message to one follower, a tag, or a batch",
)
def template_messages(request, appid: str, payload: TemplateSendRequest):
    """Queue template messages; answers 202 with the send's id and one delivery id per
    recipient, to follow in `GET …/template-messages/{send_id}`. The client system needs the
    "may send template messages" scope.

    Send an `Idempotency-Key` header (a UUID) and retry with the same key after a timeout: the
    first answer is replayed and nothing is sent twice (docs/api.md)."""
    call: gate.Call = request.auth
    assert call.info is not None
    key = idempotency.check_key(request.headers.get(idempotency.HEADER))
    with transaction.atomic():
        record = None
        if key is not None:
            claimed = idempotency.begin(
                client_id=call.info.client_id,
                key=key,
                fingerprint=idempotency.fingerprint(request.method, request.path, request.body),
                endpoint=call.endpoint,
            )
            if isinstance(claimed, idempotency.Replay):
                gate.close_call(call, status=claimed.status, outcome=Outcome.OK)
                return _json(claimed.status, claimed.body, **{"Idempotent-Replayed": "true"})
            record = claimed
        status, body = sends.create(call, payload)
        if record is not None:
            idempotency.complete(record, status=status, body=body)
    gate.close_call(call, status=status, outcome=Outcome.OK)
    return _json(status, body)


@api.get(
    "/accounts/{appid}/template-messages/{send_id}",
    url_name="template-message",
    response={200: SendState, **ERRORS},
    summary="A send's progress and its delivery log",
)
def template_message(request, appid: str, send_id: int, after: int = 0, limit: int = 100):
    """A send this client system made: status, totals, and its delivery rows with an id above
    `after` (at most `limit`, 1000 at most); follow `next_after` for the next page. A row's
    status goes pending → calling → sent → delivered / user_block / system_failed (WeChat's
    TEMPLATESENDJOBFINISH), or refused / unknown / cancelled."""
    call: gate.Call = request.auth
    body = sends.status(call, send_id, after=after, limit=limit)
    gate.close_call(call, status=200, outcome=Outcome.OK)
    return body
