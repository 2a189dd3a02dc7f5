"""What an area module (``wechat_sandbox/areas/<area>.py``) declares WeChat's endpoints with.

Every WeChat API call goes through ``guard``: fault injection, access-token
check (41001 missing, 40014 malformed, 40001 unknown/superseded, 42001 expired),
then the per-API daily quota (45009). Bodies are read as UTF-8 JSON whatever
the Content-Type, as WeChat does.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from wechat_sandbox.core import AppState, Sandbox, declare_quota
from wechat_sandbox.http import DROP, Answer, Drop, SandboxRequest, SandboxResponse, route

OPENID = re.compile(r"^[A-Za-z0-9_-]{6,64}\Z")
KF_PREFIX = re.compile(r"^[A-Za-z0-9_]{1,10}\Z")

#: A check an endpoint adds after the shared ones: an error answer, or None to go on.
Check = Callable[[Sandbox, AppState], SandboxResponse | None]

#: A handler ``(sandbox, request, app, **path params)`` behind ``api_route``.
ApiHandler = Callable[..., Answer]


def guard(sb: Sandbox, request: SandboxRequest, api: str) -> AppState | SandboxResponse | Drop:
    """Faults, token and quota checks shared by every token-authenticated API."""
    token = request.query.get("access_token")
    record, errcode = sb.check_token(token)
    appid = record.appid if record else None
    injected = sb.inject(api, appid)
    if injected is not None:
        return injected
    app = sb.app(appid) if appid else None
    if errcode:
        if app is not None:
            with sb._lock:
                app.rejected_tokens += 1
        messages = {
            41001: "access_token missing",
            40014: "invalid access_token",
            40001: "invalid credential, access_token is invalid or not latest",
            42001: "access_token expired",
        }
        return sb.error(errcode, messages[errcode], app=app)
    assert app is not None  # a usable token was issued to a registered account
    if not sb.count_call(app, api):
        return sb.error(45009, "reach max api daily quota limit", app=app)
    return app


def api_route(
    method: str | tuple[str, ...], path: str, *, quota: int | None = None, check: Check | None = None
) -> Callable[[ApiHandler], ApiHandler]:
    """Register a token-authenticated WeChat API: the handler runs only once faults, the
    access token and the daily quota (then ``check``, e.g. the customer-service switch) have
    been checked, and receives the caller's AppState. ``quota``: the API's daily quota when
    it is not ``core.DEFAULT_QUOTA``."""
    if quota is not None:
        declare_quota(path, quota)

    def decorate(handler: ApiHandler) -> ApiHandler:
        @functools.wraps(handler)
        def guarded(sb: Sandbox, request: SandboxRequest, **params: str) -> Answer:
            app = guard(sb, request, path)
            if not isinstance(app, AppState):
                return app
            if check is not None:
                refused = check(sb, app)
                if refused is not None:
                    return refused
            answer = handler(sb, request, app, **params)
            if sb.answer_lost(path, app.appid):  # done, and the caller never hears so
                return DROP
            return answer

        route(method, path)(guarded)
        return handler

    return decorate
