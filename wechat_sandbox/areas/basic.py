"""Basic information: cgi-bin/getcallbackip (WeChat's callback addresses)."""

from __future__ import annotations

from wechat_sandbox.core import AppState, Sandbox
from wechat_sandbox.endpoints import api_route
from wechat_sandbox.http import SandboxRequest

CALLBACK_IPS = ["101.226.103.0/25", "101.226.233.128/25"]


@api_route("GET", "/cgi-bin/getcallbackip")
def getcallbackip(sb: Sandbox, request: SandboxRequest, app: AppState):
    return {"ip_list": list(CALLBACK_IPS)}
