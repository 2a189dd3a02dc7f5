"""The client-system API's short way through the middleware stack (issue 27), as the WeChat
callback's `messaging.middleware.CallbackFastPath`.

`/api/v1/accounts/…` answers JSON to callers with a bearer key: none of the admin's middleware
applies to it (sessions, the language cookie, CSRF — Ninja's views are exempt —, user
authentication, messages, frame options, history, lockouts, and a Content-Security-Policy built
twice for a document no browser renders). Those layers were a fifth of a jssdk-config call's CPU
(bench/api_token.py). `ApiFastPath` sits right after `CallbackFastPath`, refuses a NUL in the
address as `RefuseBadInputMiddleware` does (as a JSON error), resolves the URL and calls the
view; the audit row is pushed to Redis after the answer is sent (the response's closer,
which the WSGI server calls once the body is written), so the caller does not wait for that
round trip. The docs page and the schema (`/api/v1/docs`, `/api/v1/openapi.json`) take the usual way.
Middleware listed ABOVE it (request ids, metrics, security headers) still runs for the API.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import resolve
from django.utils import translation

from . import errors, gate

PREFIX = "/api/v1/accounts/"


class ApiFastPath:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if not path.startswith(PREFIX):
            return self.get_response(request)
        # What the language middleware below would have chosen for a cookie-less request.
        translation.activate(settings.LANGUAGE_CODE)
        if "\x00" in path or any(
            "\x00" in name or any("\x00" in value for value in values) for name, values in request.GET.lists()
        ):
            error = errors.bad_address()
            return JsonResponse(error.body(), status=400, json_dumps_params={"ensure_ascii": False})
        match = resolve(path)  # Http404 becomes Django's 404 answer, as below
        request.resolver_match = match
        deferred: list[str] = []
        request.api_deferred_audit = deferred  # type: ignore[attr-defined]  # read by gate.open_call
        try:
            response: HttpResponse = match.func(request, *match.args, **match.kwargs)
        except BaseException:
            gate.push_audit(deferred)
            raise
        # Django's own hook for work after the body is sent (FileResponse closes files there).
        response._resource_closers.append(lambda: gate.push_audit(deferred))  # type: ignore[attr-defined]
        return response
