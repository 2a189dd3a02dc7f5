"""An offline WeChat API (``api.weixin.qq.com``) on loopback, for tests, demos and benchmarks.

In-process::

    from wechat_sandbox import Sandbox
    sb = Sandbox(apps={"wx0123456789abcdef": {"secret": "…", "wechat_id": "demo_account"}},
                 token_ttl=7200, overlap_seconds=300)
    sb.start(host="127.0.0.1", port=0)   # port 0: a free port
    sb.base_url                          # "http://127.0.0.1:54321"
    sb.state(appid)                      # what GET /sandbox/state/<appid> answers
    sb.stop()

What it emulates (docs/wechat-protocol.md §a–c): cgi-bin/token and stable_token
(a new classic token invalidates the previous one after ``overlap_seconds``;
stable tokens are separate and follow the normal/force_refresh rules), 40013 /
40125 / 40002 / 41002 / 41004 / 40164 (``ip_whitelist``) / 40243 (``frozen``),
42001 after ``token_ttl``, per-API daily quotas (45009), menu/create with
WeChat's validation codes, menu/get, get_current_selfmenu_info, menu/delete,
the customer-service account and session endpoints (65400-series errors),
message/custom/send with its reply windows (45015/45047), fault injection
(``fail_rate``, ``latency_ms``, ``force_error``) and a JSON state endpoint.

A package of its own beside ``wechat`` (like fakeredis beside redis): it imports
``wechat`` (crypto, XML) and ``wechat`` never imports it.

WeChat's endpoints are in ``areas/``, one module per area of WeChat's API, found there
when the package is imported (a new area is a new file); the sandbox's own endpoints are
in ``control`` and ``simulate``. Each registers its handlers with ``@route`` /
``endpoints.api_route``, so every Sandbox starts with all of them.
"""

# Their handlers fill ROUTES: areas (WeChat's endpoints, each area's module), control
# (state, faults, expiry), simulate (the simulated user). Imported before anything else
# of the package can be used.
from . import areas, control, simulate  # noqa: F401
from .core import AppState, Fault, Sandbox, TokenRecord, fingerprint
from .http import (
    DROP,
    ROUTES,
    BadBody,
    RouteTable,
    SandboxRequest,
    SandboxResponse,
    json_response,
    route,
)

__all__ = [
    "DROP",
    "ROUTES",
    "AppState",
    "BadBody",
    "Fault",
    "RouteTable",
    "Sandbox",
    "SandboxRequest",
    "SandboxResponse",
    "TokenRecord",
    "fingerprint",
    "json_response",
    "route",
]
