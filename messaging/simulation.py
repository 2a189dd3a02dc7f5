"""Staff previews: ask the local sandbox to act as a WeChat user of an account.

Used by `POST /wechat/simulate/<account_pk>/` (the menu editor's phone preview).
Only works when WECHAT_API_BASE is a sandbox on loopback: the real WeChat API has
no such endpoint, and we must not send requests built from user input elsewhere.
"""

from __future__ import annotations

import ipaddress
import time
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import OfficialAccount
from core.domain_errors import DomainError
from core.parsing import shown
from wechat_sandbox.simulate import CERTIFICATION_EVENTS

ALLOWED_TYPES = ("text", "click", "view", "subscribe", "unsubscribe", "image")
TIMEOUT_SECONDS = 20  # the sandbox itself may wait 3 × 5 s for a slow callback


class SimulationError(DomainError):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class SimulationUnavailable(SimulationError):
    def __init__(self, message: str) -> None:
        super().__init__(message, status=409)


def sandbox_base() -> str | None:
    """WECHAT_API_BASE when it points at a loopback host (the sandbox), else None."""
    base: str = settings.WECHAT_API_BASE.rstrip("/")
    host = urlsplit(base).hostname or ""
    if host == "localhost":
        return base
    try:
        return base if ipaddress.ip_address(host).is_loopback else None
    except ValueError:
        return None


def callback_url_for(account: OfficialAccount) -> str:
    """Where the sandbox should deliver: WECHAT_SIMULATE_CALLBACK_BASE + the account's
    callback path when that setting is set, else "" (the sandbox then uses the callback
    URL registered with the account, e.g. by `wechat_sandbox --from-db`).

    Never derived from the request (issue 9): the Host header is the caller's to
    choose, and the sandbox would post a signed push wherever it pointed.
    """
    base = getattr(settings, "WECHAT_SIMULATE_CALLBACK_BASE", "")
    if not base:
        return ""
    return base.rstrip("/") + reverse("messaging:callback", args=[account.appid])


#: simulating a user's action (text, click, subscribe…) changes what messages do
USER_ACTION_PERMISSION = "messaging.change_inboundmessage"
#: WeChat's certification pushes move orders: the permission the order's transitions need
#: (certification/transitions.py: changing the order; the order page's own "simulate event"
#: checks the same). Issue 22 §3: an Operator could succeed an order in review from here.
CERTIFICATION_EVENT_PERMISSION = "certification.change_order"


def required_permission(payload: dict[str, Any]) -> str:
    """The permission a staff member needs to send this simulated push (on top of the
    account's assignment): certification events are WeChat's, not a user's action."""
    kind = payload.get("type")
    if isinstance(kind, str) and kind in CERTIFICATION_EVENTS:
        return CERTIFICATION_EVENT_PERMISSION
    return USER_ACTION_PERMISSION


def clean_payload(payload: dict[str, Any]) -> dict[str, Any]:
    kind = payload.get("type", "text")
    if not isinstance(kind, str):  # {"type": []} was a 500 (found by the admin fuzz, issue 22)
        raise SimulationError(
            _("Unknown type “%(type)s”; use one of: %(types)s.")
            % {"type": shown(kind), "types": ", ".join(ALLOWED_TYPES)}
        )
    clean: dict[str, object]
    if kind in CERTIFICATION_EVENTS:  # WeChat's own pushes (docs/wechat-protocol.md §f)
        clean = {"type": kind}
        if payload.get("expired_time") is not None:
            try:
                clean["expired_time"] = int(payload["expired_time"])
            except (TypeError, ValueError):
                raise SimulationError(_("“expired_time” must be a Unix time.")) from None
        if payload.get("fail_reason"):
            clean["fail_reason"] = str(payload["fail_reason"])[:500]
        return clean
    if kind not in ALLOWED_TYPES:
        raise SimulationError(
            _("Unknown type “%(type)s”; use one of: %(types)s.")
            % {"type": kind, "types": ", ".join(ALLOWED_TYPES)}
        )
    clean = {"type": kind, "openid": str(payload.get("openid") or "preview-user")[:64]}
    field = {"text": "content", "click": "key", "view": "url", "image": "url"}.get(kind)
    if field:
        value = payload.get(field)
        if not isinstance(value, str) or (kind != "image" and not value.strip()):
            raise SimulationError(
                _("“%(field)s” is required for type “%(type)s”.") % {"field": field, "type": kind}
            )
        clean[field] = value[:2048]
    return clean


def simulate_via_sandbox(*, account: OfficialAccount, payload: dict[str, Any]) -> dict[str, Any]:
    """Send one simulated user action through the sandbox; return {"reply", "elapsed_ms"}."""
    base = sandbox_base()
    if base is None:
        raise SimulationUnavailable(
            _(
                "Previews need the WeChat sandbox: WECHAT_API_BASE must point at the sandbox on "
                "this machine (for example http://127.0.0.1:8001), not at the real WeChat API."
            )
        )
    body = clean_payload(payload)
    url = callback_url_for(account)
    if url:
        body["callback_url"] = url
    started = time.perf_counter()
    try:
        response = requests.post(
            f"{base}/sandbox/simulate/{account.appid}", json=body, timeout=TIMEOUT_SECONDS
        )
        data = response.json()
    except (requests.RequestException, ValueError):
        raise SimulationError(
            _("The WeChat sandbox at %(base)s is not answering. Is it running (make run starts it)?")
            % {"base": base},
            status=502,
        )
    elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    if response.status_code == 404:
        raise SimulationError(
            _(
                "The sandbox does not know this account. Start it with "
                "--from-db, or register the account in it."
            ),
            status=502,
        )
    if response.status_code != 200:
        raise SimulationError(
            _("The simulated message did not get an answer: %(error)s")
            % {"error": data.get("errmsg", response.status_code)},
            status=502,
        )
    return {"reply": data.get("reply"), "elapsed_ms": data.get("elapsed_ms", elapsed_ms)}
