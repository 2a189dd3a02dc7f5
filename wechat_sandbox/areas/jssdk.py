"""JS-SDK (protocol §h): cgi-bin/ticket/getticket?type=jsapi|wx_card.

Each call issues a new ticket valid as long as the sandbox's tokens (``token_ttl``, 7200 s like
WeChat's ``expires_in``; shorter in benchmarks) (as WeChat, the previous one keeps
working until it expires) and counts the fetch, so that a test or the benchmark can assert one
fetch per expiry. The state shows how many were fetched and fingerprints, never tickets.

What a phone does with the signature, emulated: ``POST /sandbox/jssdk/<appid>/config`` with
``url``, ``timestamp``, ``nonceStr`` and ``signature`` answers ``{"errMsg": "config:ok"}`` when
the signature was made with one of the account's jsapi tickets that is still valid at the
sandbox's clock, else ``{"errMsg": "config:invalid signature"}`` (what ``wx.config`` reports).
``POST /sandbox/jssdk/<appid>/expire`` ends every ticket now (WeChat's side losing them early),
so that tests can watch a cached ticket stop working.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field

from wechat_sandbox.core import AppState, Sandbox, fingerprint, state_section
from wechat_sandbox.endpoints import api_route
from wechat_sandbox.http import SandboxRequest, json_response, route

AREA = "jssdk"
TICKET_TYPES = ("jsapi", "wx_card")


@dataclass
class Tickets:
    fetches: dict[str, int] = field(default_factory=dict)  # type -> tickets issued
    current: dict[str, tuple[str, float]] = field(default_factory=dict)  # type -> (ticket, expires_at)
    #: every jsapi ticket issued still worth remembering: ticket -> expires_at
    issued: dict[str, float] = field(default_factory=dict)


def _tickets(app: AppState) -> Tickets:
    return app.area_state(AREA, Tickets)


def ticket_fetches(sb: Sandbox, appid: str, ticket_type: str = "jsapi") -> int:
    """How many tickets of ``ticket_type`` the account has fetched (tests and bench/)."""
    app = sb.app(appid)
    if app is None:
        return 0
    with sb._lock:
        return _tickets(app).fetches.get(ticket_type, 0)


def current_ticket(sb: Sandbox, appid: str, ticket_type: str = "jsapi") -> str | None:
    """The last ticket issued (tests recompute signatures with it)."""
    app = sb.app(appid)
    if app is None:
        return None
    with sb._lock:
        found = _tickets(app).current.get(ticket_type)
    return found[0] if found else None


@api_route("GET", "/cgi-bin/ticket/getticket", quota=100_000)
def getticket(sb: Sandbox, request: SandboxRequest, app: AppState):
    ticket_type = request.query.get("type", "")
    if ticket_type not in TICKET_TYPES:
        return sb.error(40097, "invalid args", app=app)
    ticket = secrets.token_urlsafe(64)
    now = sb.clock()
    with sb._lock:
        tickets = _tickets(app)
        tickets.fetches[ticket_type] = tickets.fetches.get(ticket_type, 0) + 1
        tickets.current[ticket_type] = (ticket, now + sb.token_ttl)
        if ticket_type == "jsapi":
            for old in [t for t, ends in tickets.issued.items() if ends < now - 86400]:
                del tickets.issued[old]  # long dead: forget
            tickets.issued[ticket] = now + sb.token_ttl
    return {"errcode": 0, "errmsg": "ok", "ticket": ticket, "expires_in": sb.token_ttl}


def _signature(*, ticket: str, noncestr: str, timestamp: str, url: str) -> str:
    """WeChat's algorithm, written again here rather than imported from the client under test."""
    plain = f"jsapi_ticket={ticket}&noncestr={noncestr}&timestamp={timestamp}&url={url}"
    return hashlib.sha1(plain.encode(), usedforsecurity=False).hexdigest()


def config_check(sb: Sandbox, appid: str, *, url: str, timestamp: str, noncestr: str, signature: str) -> bool:
    """Would ``wx.config`` accept this signature now? Made with a jsapi ticket of the account
    still valid at the sandbox's clock, over the URL without its fragment."""
    app = sb.app(appid)
    if app is None:
        return False
    now = sb.clock()
    with sb._lock:
        valid = [t for t, ends in _tickets(app).issued.items() if ends > now]
    page = url.split("#", 1)[0]
    return any(
        _signature(ticket=t, noncestr=noncestr, timestamp=str(timestamp), url=page) == signature
        for t in valid
    )


def expire_tickets(sb: Sandbox, appid: str) -> int:
    """End every ticket of the account now; the number that were still valid."""
    app = sb.app(appid)
    if app is None:
        return 0
    now = sb.clock()
    with sb._lock:
        tickets = _tickets(app)
        ended = [t for t, ends in tickets.issued.items() if ends > now]
        for ticket in ended:
            tickets.issued[ticket] = now
        tickets.current = {kind: (t, min(ends, now)) for kind, (t, ends) in tickets.current.items()}
    return len(ended)


@route("POST", "/sandbox/jssdk/<appid>/config")
def config(sb: Sandbox, request: SandboxRequest, appid: str):
    """What the phone's wx.config says of these parameters (not counted as an API call)."""
    if sb.app(appid) is None:
        return json_response({"errcode": 40013, "errmsg": "invalid appid"}, status=404)
    body = request.json()
    ok = config_check(
        sb,
        appid,
        url=str(body.get("url") or ""),
        timestamp=str(body.get("timestamp") or ""),
        noncestr=str(body.get("nonceStr") or ""),
        signature=str(body.get("signature") or ""),
    )
    return {"errMsg": "config:ok" if ok else "config:invalid signature"}


@route("POST", "/sandbox/jssdk/<appid>/expire")
def expire(sb: Sandbox, request: SandboxRequest, appid: str):
    if sb.app(appid) is None:
        return json_response({"errcode": 40013, "errmsg": "invalid appid"}, status=404)
    return {"errcode": 0, "expired": expire_tickets(sb, appid)}


@state_section(AREA)
def _state(app: AppState) -> dict:
    tickets = _tickets(app)
    return {
        "fetches": dict(tickets.fetches),
        "current": {kind: fingerprint(ticket) for kind, (ticket, _) in tickets.current.items()},
        "current_expires_at": {kind: ends for kind, (_ticket, ends) in tickets.current.items()},
    }
