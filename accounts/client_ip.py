"""The address a login attempt came from, for django-axes' lockout by address (issue 9).

Behind nginx or a load balancer every request's REMOTE_ADDR is the proxy's: locking by it
would let five wrong passwords lock out every staff member at once. With
`TRUSTED_PROXY_COUNT` proxies in front, the client is the address the outermost of them
saw: counted from the right of X-Forwarded-For (entries further left are the client's own
to write, so they are never trusted).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    remote = request.META.get("REMOTE_ADDR") or None
    hops: int = settings.TRUSTED_PROXY_COUNT
    if hops <= 0:
        return remote
    forwarded = [
        part.strip() for part in request.headers.get("x-forwarded-for", "").split(",") if part.strip()
    ]
    if len(forwarded) < hops:  # not through all our proxies: only the peer is known
        return remote
    return forwarded[-hops]
