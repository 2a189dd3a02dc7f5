"""The WeChat callback `/wechat/<appid>/` and the staff simulate endpoint.

The callback (docs/wechat-protocol.md §d, §e): GET verifies the URL (echo `echostr`),
POST receives pushes in the account's mode. Every refusal happens before anything
is stored, and answers a short plain-text status — never a traceback:

    unknown AppID → 404; bad or missing signature, stale timestamp, wrong AppID
    inside the ciphertext → 403; malformed or hostile body (DTD, entities, bad
    base64/padding, not a push) → 400; body over WECHAT_CALLBACK_MAX_BODY_BYTES → 413.
"""

from __future__ import annotations

import logging
import re
import time
from urllib.parse import parse_qsl

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import MessageMode, OfficialAccount
from accounts.scoping import require_account_access
from accounts.services import url_verification_record
from wechat import crypto
from wechat.messages import Message, MessageParseError, parse_envelope, parse_message
from wechat.replies import SUCCESS

from . import db_guard, receiving, selectors

logger = logging.getLogger(__name__)

NONCE_RE = re.compile(r"[A-Za-z0-9]{1,64}\Z")


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _plain(status: int, text: str) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


def _check_timestamp(timestamp: str) -> None:
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        raise Refused(403, _("The timestamp parameter is missing or not a number."))
    if abs(time.time() - sent) > settings.WECHAT_CALLBACK_MAX_SKEW_SECONDS:
        raise Refused(403, _("The timestamp is outside the accepted window."))


def _check_signature(account: OfficialAccount, params: dict[str, str]) -> None:
    try:
        crypto.check_signature(
            account.server_token,
            params.get("signature", ""),
            params.get("timestamp", ""),
            params.get("nonce", ""),
        )
    except crypto.InvalidSignature:
        raise Refused(403, _("The signature does not match."))


def _check_nonce(nonce: str) -> None:
    """WeChat's nonces are short strings of digits; anything else is refused, not echoed."""
    if not NONCE_RE.match(nonce):
        raise Refused(400, _("The nonce parameter must be 1 to 64 letters or digits."))


def _read_body(request: HttpRequest) -> bytes:
    limit = settings.WECHAT_CALLBACK_MAX_BODY_BYTES
    try:
        declared = int(request.headers.get("content-length") or 0)
    except ValueError:
        raise Refused(400, _("The Content-Length header is not a number."))
    if declared > limit:
        raise Refused(413, _("The body is larger than %(limit)d bytes.") % {"limit": limit})
    # Read at most one byte past the cap so that a body without (or with a lying)
    # Content-Length cannot make us buffer more.
    body = request.read(limit + 1)
    if len(body) > limit:
        raise Refused(413, _("The body is larger than %(limit)d bytes.") % {"limit": limit})
    return body


def _message_crypto(account: OfficialAccount) -> crypto.MessageCrypto:
    """The account's MessageCrypto, kept on the (process-cached) account instance."""
    found = getattr(account, "_callback_crypto", None)
    if found is None:
        found = crypto.MessageCrypto(account.server_token, account.encoding_aes_key, account.appid)
        account.__dict__["_callback_crypto"] = found  # a per-instance cache, not a model field
    return found


def _query(request: HttpRequest) -> dict[str, str]:
    """The query string as a plain dict (last value wins, like QueryDict.get) — cheaper
    than building request.GET on the busiest URL."""
    try:
        return dict(
            parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True, max_num_fields=50)
        )
    except ValueError:
        raise Refused(400, _("The query string has too many parameters."))


def _decode_push(account: OfficialAccount, params: dict[str, str], body: bytes) -> tuple[Message, bool]:
    """Return (message, reply_encrypted) after checking the account's mode."""
    encrypted = params.get("encrypt_type", "raw").lower() == "aes"
    if account.message_mode == MessageMode.SAFE and not encrypted:
        raise Refused(400, _("This account runs in safe mode: the push must be encrypted."))
    if account.message_mode == MessageMode.PLAINTEXT and encrypted:
        raise Refused(400, _("This account runs in plaintext mode: encrypted pushes are not accepted."))
    try:
        if not encrypted:
            return parse_message(body), False
        envelope = parse_envelope(body)
        message_crypto = _message_crypto(account)
        xml = message_crypto.decrypt_message(
            envelope["Encrypt"],
            msg_signature=params.get("msg_signature", ""),
            timestamp=params.get("timestamp", ""),
            nonce=params.get("nonce", ""),
        )
        return parse_message(xml), True
    except MessageParseError:
        raise Refused(400, _("The body is not a valid WeChat push."))
    except crypto.InvalidSignature:
        raise Refused(403, _("The msg_signature does not match."))
    except crypto.InvalidAppId:
        raise Refused(403, _("The encrypted message is for another AppID."))
    except crypto.InvalidAESKey:
        logger.error("callback %s: the stored EncodingAESKey is unusable", account.appid)
        raise Refused(500, _("This account's EncodingAESKey is not usable."))
    except crypto.CryptoError:
        raise Refused(400, _("The encrypted body cannot be decrypted."))


@csrf_exempt
@require_http_methods(["GET", "POST"])
def callback(request: HttpRequest, appid: str) -> HttpResponse:
    """WeChat → us. Answers well inside 5 s; slow work goes to tasks."""
    # Whatever PostgreSQL does, this push's queries end within the deadline (db_guard).
    with db_guard.push_deadline():
        return _callback(request, appid)


def _callback(request: HttpRequest, appid: str) -> HttpResponse:
    try:
        account = selectors.callback_account(appid)
    except DatabaseError as exc:
        # Not cached in this process and the database does not answer: WeChat retries.
        db_guard.database_failed(exc)
        logger.error("callback %s: the account cannot be loaded, the database is unavailable", appid)
        return _plain(503, _("Temporarily unavailable, please retry."))
    if account is None:
        return _plain(404, _("Unknown AppID."))
    try:
        params = _query(request)
        _check_timestamp(params.get("timestamp", ""))
        _check_signature(account, params)
        if request.method == "GET":
            url_verification_record(account)
            return HttpResponse(params.get("echostr", ""), content_type="text/plain")
        _check_nonce(params.get("nonce", ""))
        body = _read_body(request)
        message, encrypted = _decode_push(account, params, body)
    except Refused as refused:
        logger.warning("callback %s refused (%s): %s", appid, refused.status, refused.reason)
        return _plain(refused.status, refused.reason)

    try:
        received = receiving.message_receive(account=account, message=message)
    except DatabaseError:
        # E.g. the account's rules were never loaded in this process and cannot be now.
        logger.error("callback %s: the push cannot be handled, the database is unavailable", appid)
        return _plain(503, _("Temporarily unavailable, please retry."))
    if not received.reply_xml:
        return _plain(200, SUCCESS)
    if encrypted:
        # Our own nonce: nothing the caller sent is echoed into the signed reply.
        reply = _message_crypto(account).encrypt_reply(received.reply_xml)
    else:
        reply = received.reply_xml
    return HttpResponse(reply, content_type="application/xml; charset=utf-8")


# --- The staff simulate endpoint ---------------------------------------------------------------
@staff_member_required
@require_POST
def simulate(request: HttpRequest, account_pk: int) -> JsonResponse:
    """Act as a WeChat user of this account through the sandbox; answers the reply as JSON.

    Only when WECHAT_API_BASE is a loopback sandbox (otherwise 409): a real WeChat
    cannot be asked to play a user. Needs the change permission on messages and the
    account's assignment (issue 9): it makes the account receive and answer a push.
    WeChat's certification events need the order transitions' permission (issue 22 §3).
    """
    from core.parsing import BadInput, parse_json_object

    from .simulation import (
        USER_ACTION_PERMISSION,
        SimulationError,
        SimulationUnavailable,
        required_permission,
        simulate_via_sandbox,
    )

    if not request.user.has_perm(USER_ACTION_PERMISSION):
        raise PermissionDenied
    account = get_object_or_404(OfficialAccount, pk=account_pk)
    require_account_access(request.user, account)
    try:
        payload = parse_json_object(request.body)
    except BadInput as exc:
        return JsonResponse({"error": exc.user_message}, status=400)
    if not request.user.has_perm(required_permission(payload)):  # issue 22 §3
        raise PermissionDenied
    try:
        result = simulate_via_sandbox(account=account, payload=payload)
    except SimulationUnavailable as exc:
        return JsonResponse({"error": str(exc)}, status=409)
    except SimulationError as exc:
        return JsonResponse({"error": str(exc)}, status=exc.status)
    return JsonResponse(result)
