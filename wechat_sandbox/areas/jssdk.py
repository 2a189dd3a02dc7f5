"""JS-SDK (protocol §h): cgi-bin/ticket/getticket?type=jsapi|wx_card.

Each call issues a new ticket valid as long as the sandbox's tokens (``token_ttl``, 7200 s like
WeChat's ``expires_in``; shorter in benchmarks) (as WeChat, the previous one keeps
working until it expires) and counts the fetch, so that a test or the benchmark can assert one
fetch per expiry. The state shows how many were fetched and fingerprints, never tickets.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from wechat_sandbox.core import AppState, Sandbox, fingerprint, state_section
from wechat_sandbox.endpoints import api_route
from wechat_sandbox.http import SandboxRequest

AREA = "jssdk"
TICKET_TYPES = ("jsapi", "wx_card")


@dataclass
class Tickets:
    fetches: dict[str, int] = field(default_factory=dict)  # type -> tickets issued
    current: dict[str, tuple[str, float]] = field(default_factory=dict)  # type -> (ticket, expires_at)


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
    with sb._lock:
        tickets = _tickets(app)
        tickets.fetches[ticket_type] = tickets.fetches.get(ticket_type, 0) + 1
        tickets.current[ticket_type] = (ticket, sb.clock() + sb.token_ttl)
    return {"errcode": 0, "errmsg": "ok", "ticket": ticket, "expires_in": sb.token_ttl}


@state_section(AREA)
def _state(app: AppState) -> dict:
    tickets = _tickets(app)
    return {
        "fetches": dict(tickets.fetches),
        "current": {kind: fingerprint(ticket) for kind, (ticket, _) in tickets.current.items()},
    }
