"""/healthz, /readyz and /metrics, answered before the rest of the middleware stack.

They sit in front of everything (first in MIDDLEWARE) so that a load balancer or
Prometheus reaching a node by its IP address gets an answer without host checks,
HTTPS redirects, sessions or database-backed authentication, and so that a probe
every second costs next to nothing:

- ``/healthz``: the process is up and serving (no I/O at all).
- ``/readyz``: database, Redis, the Celery broker, a recent beat heartbeat and no
  expired access token. The checks run at most once per ``HEALTH_CACHE_SECONDS`` per
  process, each with a short timeout. ``?checks=database,redis,broker`` limits
  which checks decide the status code (a load balancer should not pull every web
  node because beat is down; monitoring should). Answers never contain secrets:
  names, booleans, durations and counts only.
- ``/metrics``: Prometheus text, for the addresses in ``METRICS_ALLOWED_NETWORKS``
  (direct requests only: a request that came through a proxy, with
  X-Forwarded-For, is judged by the token alone) or with
  ``Authorization: Bearer <METRICS_TOKEN>``.
"""

from __future__ import annotations

import hmac
import ipaddress
import threading
import time
from collections.abc import Callable

from celery.signals import beat_init
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils import timezone

from core.probes import check_beat, check_broker, check_database, check_redis, check_redis_durability
from core.queueing import enqueue_now


@beat_init.connect(weak=False, dispatch_uid="wxadmin.health.beat_started")
def _beat_started(**_kwargs) -> None:
    """Beat sends a first heartbeat as it starts: /readyz turns ready without waiting 30 s."""
    from .tasks import heartbeat

    enqueue_now(heartbeat)


def check_tokens() -> tuple[bool, str]:
    """No account's access token has expired (the scheduled refresh keeps them ahead)."""
    from accounts.models import AccountTokenStatus

    expired = AccountTokenStatus.objects.filter(expires_at__lte=timezone.now()).count()
    if expired:
        return False, f"{expired} account(s) with an expired access token (see the admin's token status)"
    return True, "no expired access token"


CHECKS: dict[str, Callable[[], tuple[bool, str]]] = {
    "database": check_database,
    "redis": check_redis,
    "redis_durability": check_redis_durability,
    "broker": check_broker,
    "beat": check_beat,
    "tokens": check_tokens,
}


class Readiness:
    """Runs every check at most once per `ttl` seconds per process (probes are frequent)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._result: dict | None = None
        self._at = 0.0

    def results(self) -> dict[str, dict]:
        ttl = settings.HEALTH_CACHE_SECONDS
        with self._lock:
            if self._result is None or time.monotonic() - self._at >= ttl:
                self._result = self._run()
                self._at = time.monotonic()
            return self._result

    @staticmethod
    def _run() -> dict[str, dict]:
        results = {}
        for name, check in CHECKS.items():
            started = time.perf_counter()
            try:
                ok, detail = check()
            except Exception as exc:  # noqa: BLE001 - the class name says enough; messages may hold URLs
                ok, detail = False, f"failed: {type(exc).__name__}"
            results[name] = {
                "ok": ok,
                "detail": detail,
                "ms": round((time.perf_counter() - started) * 1000, 1),
            }
        # (a connection a failed check left unusable is closed by Django at request_finished)
        return results

    def reset(self) -> None:
        with self._lock:
            self._result = None


readiness = Readiness()


# --- The endpoints --------------------------------------------------------------------------


def healthz(request) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readyz(request) -> JsonResponse:
    results = readiness.results()
    wanted = [name.strip() for name in request.GET.get("checks", "").split(",") if name.strip()]
    unknown = [name for name in wanted if name not in CHECKS]
    if unknown:
        return JsonResponse(
            {"status": "error", "error": f"unknown checks: {', '.join(unknown)}", "known": sorted(CHECKS)},
            status=400,
        )
    deciding = wanted or list(CHECKS)
    ok = all(results[name]["ok"] for name in deciding)
    return JsonResponse(
        {"status": "ok" if ok else "fail", "checks": results, "deciding": deciding}, status=200 if ok else 503
    )


def _metrics_allowed(request) -> bool:
    token = settings.METRICS_TOKEN
    header = request.headers.get("authorization", "")
    if (
        token
        and header.startswith("Bearer ")
        and hmac.compare_digest(header[7:].strip().encode(), token.encode())
    ):
        return True
    if "x-forwarded-for" in request.headers:  # came through a proxy: REMOTE_ADDR is the proxy
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(
        address in ipaddress.ip_network(network, strict=False)
        for network in settings.METRICS_ALLOWED_NETWORKS
    )


def metrics(request) -> HttpResponse:
    from core.metrics import exposition

    if not _metrics_allowed(request):
        return HttpResponse("forbidden\n", status=403, content_type="text/plain")
    body, content_type = exposition(settings.METRICS_DIR)
    return HttpResponse(body, content_type=content_type)


ENDPOINTS = {"/healthz": healthz, "/readyz": readyz, "/metrics": metrics}


class HealthEndpointsMiddleware:
    """Answers the three endpoints itself, first in MIDDLEWARE, GET/HEAD only."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        view = ENDPOINTS.get(request.path_info.rstrip("/") or "/")
        if view is None:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
        response = view(request)
        response["Cache-Control"] = "no-store"
        # a failing probe every second must not write an error line every second
        response._has_been_logged = True  # type: ignore[attr-defined]  # Django reads it, undeclared
        return response
