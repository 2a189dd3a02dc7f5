"""API call quotas: cgi-bin/clear_quota. (Each area declares its APIs' daily quotas with
``api_route(..., quota=N)``; the counting is the Sandbox's, in ``core``.)"""

from __future__ import annotations

from wechat_sandbox.core import AppState, Sandbox, beijing_day
from wechat_sandbox.endpoints import api_route
from wechat_sandbox.http import Answer, SandboxRequest

AREA = "quota"
QUOTA_CLEARS_PER_MONTH = 10


def _clears(app: AppState) -> dict[str, int]:
    """ "YYYY-MM" -> clears this month, kept in the area's own slot of the account."""
    return app.area_state(AREA, dict)


@api_route("POST", "/cgi-bin/clear_quota")
def clear_quota(sb: Sandbox, request: SandboxRequest, app: AppState) -> Answer:
    """Reset today's call counts of the account; 10 times a month, then 48006."""
    if request.json().get("appid") != app.appid:
        return sb.error(40013, "invalid appid", app=app)
    now = sb.clock()
    month = beijing_day(now)[:7]
    with sb._lock:
        if _clears(app).get(month, 0) >= QUOTA_CLEARS_PER_MONTH:
            return sb.error(48006, "forbid to clear quota because of reaching the limit", app=app)
        clears = _clears(app)
        clears[month] = clears.get(month, 0) + 1
        app.calls_by_day.pop(beijing_day(now), None)
    return sb.ok()


@api_route("POST", "/cgi-bin/openapi/quota/get")
def quota_get(sb: Sandbox, request: SandboxRequest, app: AppState) -> Answer:
    """Today's limit, use and remainder of one API of the account (76003 for a path without
    its leading "/" or with the host, 76021 for a path the sandbox does not serve)."""
    path = request.json().get("cgi_path")
    if not isinstance(path, str) or not path.startswith("/"):
        return sb.error(76003, "invalid cgi_path", app=app)
    if not any(known == path for _method, known in sb.routes._exact):
        return sb.error(76021, "cgi_path not found, please check", app=app)
    limit = sb.quota_for(app, path)
    with sb._lock:
        used = app.used_today(path, beijing_day(sb.clock()))
    quota = {"daily_limit": limit, "used": used, "remain": max(0, limit - used)}
    return sb.json({"errcode": 0, "errmsg": "ok", "quota": quota})
