"""The sandbox's own endpoints (``/sandbox/...``): its state, expiring tokens, faults,
a token check. Endpoints of one WeChat area, WeChat's and the sandbox's helpers for it,
are in that area's module under ``areas/``.
"""

from __future__ import annotations

from wechat_sandbox.core import Fault, Sandbox, fingerprint
from wechat_sandbox.http import SandboxRequest, SandboxResponse, route


@route("GET", "/sandbox/state")
def state_index(sb: Sandbox, request: SandboxRequest):
    return {
        "appids": sb.appids,
        "token_ttl": sb.token_ttl,
        "overlap_seconds": sb.overlap_seconds,
        "fail_rate": sb.fail_rate,
        "latency_ms": sb.latency_ms,
    }


@route("GET", "/sandbox/state/<appid>")
def state(sb: Sandbox, request: SandboxRequest, appid: str):
    if sb.app(appid) is None:
        return SandboxResponse(status=404, body=b'{"errcode":40013,"errmsg":"invalid appid"}')
    return sb.state(appid)


@route("POST", "/sandbox/expire/<appid>")
def expire(sb: Sandbox, request: SandboxRequest, appid: str):
    """Make the account's tokens expire now: the next call with them gets 42001."""
    if sb.app(appid) is None:
        return SandboxResponse(status=404, body=b'{"errcode":40013,"errmsg":"invalid appid"}')
    source = request.query.get("source") or None
    return {"errcode": 0, "expired": sb.expire_tokens(appid, source)}


@route("POST", "/sandbox/faults")
def faults(sb: Sandbox, request: SandboxRequest):
    """Body {"api": "/cgi-bin/menu/create"|"*", "errcode": -1|"drop"|"lost"|"http502", "times": 1,
    "appid": null, "delay_ms": 0}; or {"clear": true}; or {"fail_rate": .., "latency_ms": ..}."""
    body = request.json()
    if body.get("clear"):
        sb.clear_faults()
    if "fail_rate" in body:
        sb.fail_rate = float(body["fail_rate"])
    if "latency_ms" in body:
        sb.latency_ms = int(body["latency_ms"])
    if "errcode" in body or "delay_ms" in body:
        fault = Fault(
            api=body.get("api", "*"),
            errcode=body.get("errcode", 0),
            times=int(body.get("times", 1)),
            appid=body.get("appid"),
            delay_ms=int(body.get("delay_ms", 0)),
            errmsg=body.get("errmsg"),
        )
        sb.force_error(
            fault.api,
            fault.errcode,
            times=fault.times,
            appid=fault.appid,
            delay_ms=fault.delay_ms,
            errmsg=fault.errmsg,
        )
    return {"errcode": 0, "errmsg": "ok"}


@route("GET", "/sandbox/check_token")
def check_token(sb: Sandbox, request: SandboxRequest):
    """Is this token usable right now? Not counted as an API call (used by the benchmark)."""
    record, errcode = sb.check_token(request.query.get("access_token"))
    return {
        "errcode": errcode,
        "appid": record.appid if record else None,
        "fingerprint": fingerprint(record.token) if record else None,
    }
