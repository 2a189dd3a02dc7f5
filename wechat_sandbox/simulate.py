"""The simulated WeChat user: `POST /sandbox/simulate/<appid>`.

Body (JSON)::

    {"openid": "preview-user", "type": "text"|"click"|"view"|"subscribe"|"unsubscribe"|"image",
     "content": "…" | "key": "…" | "url": "…", "callback_url": optional}

or one of WeChat's certification events (docs/wechat-protocol.md §f) as the type —
"qualification_verify_success", "naming_verify_success", "annual_renew",
"verify_expired" with an optional "expired_time" (Unix time), or
"qualification_verify_fail", "naming_verify_fail" with a "fail_reason".

A `callback_url` in the body is followed only when it lies under the sandbox's
configured ``callback_base`` (same scheme, host and port, path below it);
otherwise the answer is 400 and nothing is sent. The sandbox never posts where a
request's ``Host`` header (or any other caller input) says.

The sandbox acts as WeChat (docs/wechat-protocol.md §d, §e): it builds the XML WeChat
would push, signs it with the account's server token, encrypts it in compatible
and safe mode, POSTs it to the account's callback URL (registered with the app,
or given in the body), re-sends it when no answer comes within
``sandbox.callback_timeout`` seconds (5 s, like WeChat; three tries in total),
checks and decrypts the reply and answers::

    {"reply": {"type": "text", "content": "…"} | {"type": "news", …} | null,
     "elapsed_ms": 12.3, "attempts": 1, "status": 200, "msg_id": …}

Errors: 404 unknown AppID, 400 bad request or account without a server token or
callback URL, 502 when the callback never answered or answered something WeChat
would reject (the user would see "该公众号暂时无法提供服务，请稍后再试").
"""

from __future__ import annotations

import random
import time
from urllib.parse import urlencode, urlsplit

import requests

from wechat.crypto import CryptoError, MessageCrypto, random_nonce, signature
from wechat.messages import MessageParseError, parse_xml
from wechat.replies import cdata, describe_reply

from .http import json_response, route

#: WeChat waits 5 s for an answer and tries three times in total.
DEFAULT_CALLBACK_TIMEOUT = 5.0
DEFAULT_CALLBACK_ATTEMPTS = 3

EVENT_TYPES = {"click": "CLICK", "view": "VIEW", "subscribe": "subscribe", "unsubscribe": "unsubscribe"}
MESSAGE_TYPES = {"text", "image"}
# WeChat's certification events (docs/wechat-protocol.md §f), sent by a system account.
CERTIFICATION_EVENTS = {
    "qualification_verify_success",
    "qualification_verify_fail",
    "naming_verify_success",
    "naming_verify_fail",
    "annual_renew",
    "verify_expired",
}
CERTIFICATION_SENDER = "weixin_system"


def under_callback_base(url: str, base: str | None) -> bool:
    """Whether `url` is the configured callback base or below it (issue 9: no open relay)."""
    if not base or not isinstance(url, str):
        return False
    target, allowed = urlsplit(url), urlsplit(base)
    if (target.scheme, target.netloc) != (allowed.scheme, allowed.netloc):
        return False
    prefix = allowed.path.rstrip("/") + "/"
    return (target.path + "/").startswith(prefix) and not target.username


def _error(status: int, errmsg: str):
    return json_response({"errcode": status, "errmsg": errmsg}, status=status)


def build_push_xml(*, to_user: str, openid: str, kind: str, data: dict, now: int, msg_id: int) -> str:
    """The XML WeChat pushes for one user action."""
    head = (
        f"<ToUserName>{cdata(to_user)}</ToUserName>"
        f"<FromUserName>{cdata(openid)}</FromUserName>"
        f"<CreateTime>{now}</CreateTime>"
    )
    if kind == "text":
        return (
            f"<xml>{head}<MsgType>{cdata('text')}</MsgType>"
            f"<Content>{cdata(str(data.get('content', '')))}</Content>"
            f"<MsgId>{msg_id}</MsgId></xml>"
        )
    if kind == "image":
        return (
            f"<xml>{head}<MsgType>{cdata('image')}</MsgType>"
            f"<PicUrl>{cdata(str(data.get('url', 'http://sandbox.invalid/pic.jpg')))}</PicUrl>"
            f"<MediaId>{cdata('sandbox_media')}</MediaId><MsgId>{msg_id}</MsgId></xml>"
        )
    if kind in CERTIFICATION_EVENTS:
        return certification_event_xml(to_user=to_user, kind=kind, data=data, now=now)
    event = EVENT_TYPES[kind]
    key = str(data.get("key", "")) if kind == "click" else str(data.get("url", ""))
    extra = f"<EventKey>{cdata(key)}</EventKey>" if kind in ("click", "view") else ""
    if kind == "view":
        extra += "<MenuId>1</MenuId>"
    return f"<xml>{head}<MsgType>{cdata('event')}</MsgType><Event>{cdata(event)}</Event>{extra}</xml>"


def certification_event_xml(*, to_user: str, kind: str, data: dict, now: int) -> str:
    """A 微信认证事件 push: `ExpiredTime` (default a year from now) or `FailTime`/`FailReason`."""
    head = (
        f"<ToUserName>{cdata(to_user)}</ToUserName>"
        f"<FromUserName>{cdata(CERTIFICATION_SENDER)}</FromUserName>"
        f"<CreateTime>{now}</CreateTime><MsgType>{cdata('event')}</MsgType>"
        f"<Event>{cdata(kind)}</Event>"
    )
    if kind.endswith("_fail"):
        reason = str(data.get("fail_reason", ""))[:500]
        return f"<xml>{head}<FailTime>{now}</FailTime><FailReason>{cdata(reason)}</FailReason></xml>"
    try:
        expired = int(data.get("expired_time") or now + 365 * 86400)
    except (TypeError, ValueError):
        expired = now + 365 * 86400
    return f"<xml>{head}<ExpiredTime>{expired}</ExpiredTime></xml>"


def sign_and_wrap(app, xml: str, *, timestamp: str, nonce: str, openid: str) -> tuple[str, bytes]:
    """(query string, body) of the push in the app's message mode."""
    query = {
        "signature": signature(app.token, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "openid": openid,
    }
    if app.message_mode == "plaintext":
        return urlencode(query), xml.encode("utf-8")
    crypto = MessageCrypto(app.token, app.encoding_aes_key, app.appid)
    encrypt = crypto.encrypt(xml)
    query["encrypt_type"] = "aes"
    query["msg_signature"] = signature(app.token, timestamp, nonce, encrypt)
    if app.message_mode == "compatible":
        body = xml[: -len("</xml>")] + f"<Encrypt>{cdata(encrypt)}</Encrypt></xml>"
    else:
        body = (
            f"<xml><ToUserName>{cdata(app.original_id or '')}</ToUserName>"
            f"<Encrypt>{cdata(encrypt)}</Encrypt></xml>"
        )
    return urlencode(query), body.encode("utf-8")


def push_to_callback(app, xml: str, *, now: int, openid: str, timeout: float = 5) -> bool:
    """Sign and wrap one push as WeChat would and POST it to the account's callback once: True
    when the callback answered 200. Used for the event pushes the areas emulate
    (TEMPLATESENDJOBFINISH, MASSSENDJOBFINISH, PUBLISHJOBFINISH)."""
    query, payload = sign_and_wrap(app, xml, timestamp=str(now), nonce=random_nonce(10), openid=openid)
    separator = "&" if "?" in app.callback_url else "?"
    try:
        answer = requests.post(
            f"{app.callback_url}{separator}{query}",
            data=payload,
            headers={"Content-Type": "text/xml"},
            timeout=timeout,
        )
    except requests.RequestException:
        return False
    return answer.status_code == 200


def open_reply(app, body: str) -> str:
    """The reply XML in clear: encrypted envelopes are checked (MsgSignature, AppID)."""
    text = body.strip()
    if not text or text == "success" or "<Encrypt>" not in text:
        return text
    envelope = parse_xml(text)
    crypto = MessageCrypto(app.token, app.encoding_aes_key, app.appid)
    return crypto.decrypt_message(
        envelope.get("Encrypt", ""),
        msg_signature=envelope.get("MsgSignature", ""),
        timestamp=envelope.get("TimeStamp", ""),
        nonce=envelope.get("Nonce", ""),
    )


@route("POST", "/sandbox/simulate/<appid>")
def simulate(sandbox, request, appid: str):
    """Act as WeChat delivering one user action to the account's callback."""
    app = sandbox.app(appid)
    if app is None:
        return _error(404, "unknown appid")
    data = request.json()
    kind = str(data.get("type", "text"))
    if kind not in EVENT_TYPES and kind not in MESSAGE_TYPES and kind not in CERTIFICATION_EVENTS:
        return _error(400, f"unsupported type {kind!r}")
    openid = str(data.get("openid") or "sandbox-user")[:64]
    if kind in CERTIFICATION_EVENTS:
        openid = CERTIFICATION_SENDER
    callback_url = data.get("callback_url")
    if callback_url and not under_callback_base(callback_url, sandbox.callback_base):
        return _error(
            400,
            "callback_url is not under the sandbox's callback base "
            f"({sandbox.callback_base or 'none configured'})",
        )
    callback_url = callback_url or app.callback_url
    if not callback_url:
        return _error(400, "no callback URL: register the app with callback_url or send one")
    if not app.token:
        return _error(400, "the app has no server token")
    if app.message_mode != "plaintext" and not app.encoding_aes_key:
        return _error(400, "the app has no EncodingAESKey")

    now = int(sandbox.clock())
    msg_id = random.getrandbits(63)
    xml = build_push_xml(
        to_user=app.original_id or "gh_sandbox", openid=openid, kind=kind, data=data, now=now, msg_id=msg_id
    )
    # A 48-hour (message) or 1-minute (event) window for custom-service messages opens.
    if kind not in CERTIFICATION_EVENTS:  # a system push, not a user's interaction
        sandbox.record_interaction(appid, openid, kind="message" if kind in MESSAGE_TYPES else "event")
    timeout = float(getattr(sandbox, "callback_timeout", DEFAULT_CALLBACK_TIMEOUT))
    attempts_allowed = int(getattr(sandbox, "callback_attempts", DEFAULT_CALLBACK_ATTEMPTS))
    started = time.perf_counter()
    response = None
    attempts = 0
    # WeChat re-sends the same push (same MsgId / CreateTime) when it gets no answer.
    timestamp, nonce = str(now), random_nonce(10)
    query, body = sign_and_wrap(app, xml, timestamp=timestamp, nonce=nonce, openid=openid)
    separator = "&" if "?" in callback_url else "?"
    while attempts < attempts_allowed:
        attempts += 1
        try:
            response = requests.post(
                f"{callback_url}{separator}{query}",
                data=body,
                headers={"Content-Type": "text/xml"},
                timeout=(min(timeout, 3.0), timeout),
            )
            break
        except requests.RequestException:
            response = None
    elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    result = {
        "elapsed_ms": elapsed_ms,
        "attempts": attempts,
        "msg_id": msg_id,
        "status": response.status_code if response is not None else None,
    }
    if response is None:
        return json_response(
            {
                **result,
                "reply": None,
                "errcode": 502,
                "errmsg": f"the callback did not answer within {timeout:g} s ({attempts} tries)",
            },
            status=502,
        )
    if response.status_code != 200:
        return json_response(
            {
                **result,
                "reply": None,
                "errcode": 502,
                "errmsg": f"the callback answered HTTP {response.status_code}",
            },
            status=502,
        )
    try:
        reply = describe_reply(open_reply(app, response.content.decode("utf-8")))
    except (CryptoError, MessageParseError, UnicodeDecodeError) as exc:
        return json_response(
            {
                **result,
                "reply": None,
                "errcode": 502,
                "errmsg": f"the reply is not valid: {type(exc).__name__}",
            },
            status=502,
        )
    return {**result, "reply": reply}
