"""Access tokens (protocol §a): cgi-bin/token and cgi-bin/stable_token.

The tokens themselves (issue, supersede, expire, check) are the Sandbox's, in ``core``:
every area's ``api_route`` checks them.
"""

from __future__ import annotations

from wechat_sandbox.core import AppState, Sandbox, declare_quota
from wechat_sandbox.http import Answer, Drop, SandboxRequest, SandboxResponse, route

TOKEN_API = "/cgi-bin/token"
STABLE_TOKEN_API = "/cgi-bin/stable_token"
declare_quota(TOKEN_API, 2000)
declare_quota(STABLE_TOKEN_API, 500_000)


def _token_common(
    sb: Sandbox, request: SandboxRequest, api: str, params: dict[str, str]
) -> AppState | SandboxResponse | Drop:
    injected = sb.inject(api, params.get("appid"))
    if injected is not None:
        return injected
    if params.get("grant_type") != "client_credential":
        return sb.error(40002, "invalid grant_type")
    appid, secret = params.get("appid"), params.get("secret")
    if not appid:
        return sb.error(41002, "appid missing")
    if not secret:
        return sb.error(41004, "appsecret missing")
    app = sb.app(appid)
    if app is None:
        return sb.error(40013, "invalid appid")
    if app.ip_whitelist is not None and request.client_ip not in app.ip_whitelist:
        return sb.error(
            40164,
            f"invalid ip {request.client_ip} ipv6 ::ffff:{request.client_ip}, not in whitelist",
            app=app,
        )
    if app.frozen:
        return sb.error(40243, "AppSecret is frozen", app=app)
    if secret != app.secret:
        fresh = sb.resolve_app(appid) if sb.resolve_app else None  # secret changed in the DB?
        if fresh and fresh.get("secret") == secret:
            fresh = dict(fresh)
            sb.register_app(appid, fresh.pop("secret"), **fresh)
        else:
            return sb.error(40125, "invalid appsecret", app=app)
    if not sb.count_call(app, api):
        return sb.error(
            45009, "reach max api daily quota limit, could get access_token by getStableAccessToken", app=app
        )
    return app


@route("GET", TOKEN_API)
def token(sb: Sandbox, request: SandboxRequest) -> Answer:
    app = _token_common(sb, request, TOKEN_API, request.query)
    if not isinstance(app, AppState):
        return app
    record = sb.issue_classic_token(app)
    return {"access_token": record.token, "expires_in": int(record.expires_at - record.issued_at)}


@route("POST", STABLE_TOKEN_API)
def stable_token(sb: Sandbox, request: SandboxRequest) -> Answer:
    body = request.json()
    app = _token_common(sb, request, STABLE_TOKEN_API, {k: str(v) for k, v in body.items()})
    if not isinstance(app, AppState):
        return app
    record, errcode = sb.issue_stable_token(app, force_refresh=bool(body.get("force_refresh")))
    if errcode or record is None:  # (no record only with an errcode)
        return sb.error(errcode, "reach max api daily quota limit", app=app)
    return {"access_token": record.token, "expires_in": max(0, int(record.expires_at - sb.clock()))}
