"""Structured logs: JSON lines with a request id and the AppID, never a secret.

- `RequestContextMiddleware` gives each request an id (the proxy's ``X-Request-ID``
  when it is well formed, else a new one), returns it as ``X-Request-ID``, binds the
  AppID of URLs that carry one (the WeChat callback), writes one ``request`` line per
  request (method, path without the query string, status, duration) and feeds the
  callback metrics.
- In Celery, the task id and name take the request id's place.
- `JsonFormatter` (production's formatter) adds that context to every record and
  scrubs credentials: `Secret` arguments, credential-named fields, ``token=…``
  pairs and URL passwords in messages and tracebacks (`core.scrubbing`).
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid

from celery.signals import task_postrun, task_prerun
from pythonjsonlogger.json import JsonFormatter as _BaseJsonFormatter

_context: contextvars.ContextVar[dict | None] = contextvars.ContextVar("wxadmin_log_context", default=None)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{8,128}$")
CALLBACK_VIEW = "messaging:callback"

request_logger = logging.getLogger("wxadmin.request")


def current_context() -> dict:
    return _context.get() or {}


def bind(**values) -> None:
    """Add fields (e.g. ``appid=...``) to every log line of the current request or task."""
    _context.set({**current_context(), **{k: v for k, v in values.items() if v is not None}})


class RequestContextMiddleware:
    """Request id, AppID, one access line per request, callback latency and outcome."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("x-request-id", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = _context.set({"request_id": request_id})
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            elapsed = time.perf_counter() - started
            match = getattr(request, "resolver_match", None)
            # messaging's CallbackFastPath marks the callback (it skips URL resolution)
            if hasattr(request, "callback_appid") or (match is not None and match.view_name == CALLBACK_VIEW):
                from . import metrics

                metrics.callback_observed(status=response.status_code, seconds=elapsed)
            response["X-Request-ID"] = request_id
            user = getattr(request, "user", None)
            request_logger.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round(elapsed * 1000, 2),
                    "user_id": user.pk if user is not None and user.is_authenticated else None,
                },
            )
            return response
        finally:
            _context.reset(token)

    def process_view(self, request, view_func, view_args, view_kwargs):
        appid = view_kwargs.get("appid")
        if appid:
            bind(appid=str(appid)[:32])


class JsonFormatter(_BaseJsonFormatter):
    """One JSON object per line, with the context and without credentials."""

    def __init__(self, *args, **kwargs) -> None:
        if not args and "fmt" not in kwargs:
            kwargs["fmt"] = "%(levelname)s %(name)s %(message)s"
        kwargs.setdefault("timestamp", "time")
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        super().__init__(*args, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        from .scrubbing import has_secret, mask_args

        if record.args and has_secret(record.args):  # a copy: other handlers keep the original
            record = logging.makeLogRecord({**record.__dict__, "args": mask_args(record.args)})
        for key, value in current_context().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return super().format(record)

    def process_log_record(self, log_data: dict) -> dict:
        from .scrubbing import scrub

        # django.request attaches the request object; its repr would carry the query string
        log_data.pop("request", None)
        return scrub(log_data)


# --- Celery: the task id is the request id of a task's log lines ------------------------------


@task_prerun.connect(weak=False, dispatch_uid="core.logs.task_prerun")
def _task_started(task_id=None, task=None, **_kwargs) -> None:
    _context.set({"task_id": task_id, "task_name": getattr(task, "name", None)})


@task_postrun.connect(weak=False, dispatch_uid="core.logs.task_postrun")
def _task_finished(**_kwargs) -> None:
    _context.set(None)
