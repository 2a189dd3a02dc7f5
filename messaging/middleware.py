"""The WeChat callback's short way through the middleware stack (issue 13).

WeChat's pushes need none of the admin's middleware (sessions, language cookie,
CSRF, authentication, messages, history, frame options): each layer costs CPU on
every push, and the callback is the busiest URL. `CallbackFastPath` sits right after
SecurityMiddleware (and WhiteNoise in production) and hands `/wechat/<appid>/`
straight to the view; every other URL goes on down the stack.

Middleware listed ABOVE it in MIDDLEWARE still runs for the callback — put request
ids, metrics and latency histograms there; middleware below it does not.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import get_script_prefix, reverse
from django.utils import translation

_PLACEHOLDER = "wx0000000000000000"


class CallbackFastPath:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._pattern: re.Pattern[str] | None = None

    def _callback_pattern(self) -> re.Pattern[str]:
        if self._pattern is None:
            url = reverse("messaging:callback", kwargs={"appid": _PLACEHOLDER})
            prefix = get_script_prefix()
            path = "/" + url[len(prefix) :] if url.startswith(prefix) else url
            head, tail = path.split(_PLACEHOLDER)
            self._pattern = re.compile(rf"{re.escape(head)}(wx[0-9a-f]{{16}}){re.escape(tail)}\Z")
        return self._pattern

    def __call__(self, request: HttpRequest) -> HttpResponse:
        match = self._callback_pattern().match(request.path_info)
        if match is None:
            return self.get_response(request)
        from core import logs

        from .views import callback

        # No URL resolution happens on this path: say which view answers, for the request
        # line and the callback metrics of RequestContextMiddleware above (issue 14).
        request.callback_appid = match[1]  # type: ignore[attr-defined]  # a mark core.logs looks for
        logs.bind(appid=match[1])
        # What the language middleware below would have chosen for a cookie-less request.
        translation.activate(settings.LANGUAGE_CODE)
        return callback(request, match[1])
