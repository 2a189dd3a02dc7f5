"""HTTP plumbing of the sandbox: requests, responses, the route table, the server.

Kept on the standard library (``ThreadingHTTPServer``) with HTTP/1.1 keep-alive,
Nagle disabled and one write per response, so pooled clients can push thousands
of requests per second through it.

Other modules add endpoints to the shared route table::

    from wechat_sandbox import route, json_response

    @route("POST", "/sandbox/simulate/<appid>")
    def simulate(sandbox, request, appid):
        ...
        return {"errcode": 0}       # a dict is sent as JSON
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, TypeAlias, cast
from urllib.parse import parse_qs

if TYPE_CHECKING:
    from .core import Sandbox

logger = logging.getLogger("wechat_sandbox")


class BadBody(Exception):
    """The request body could not be read as the endpoint expects."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(errcode, errmsg)
        self.errcode, self.errmsg = errcode, errmsg


@dataclass
class SandboxRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    client_ip: str = "127.0.0.1"

    def json(self) -> dict[str, Any]:
        """The body as a JSON object, whatever the Content-Type (WeChat does not require one)."""
        if not self.body.strip():
            raise BadBody(44002, "empty post data")
        try:
            data = json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise BadBody(47001, "data format error")
        if not isinstance(data, dict):
            raise BadBody(47001, "data format error")
        return data

    def files(self) -> dict[str, tuple[str, bytes]]:
        """multipart/form-data parts that carry a file: {field: (filename, bytes)}."""
        content_type = self.headers.get("content-type", "")
        if not content_type.lower().startswith("multipart/form-data"):
            return {}
        message = BytesParser(policy=policy.default).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + self.body
        )
        found: dict[str, tuple[str, bytes]] = {}
        if not message.is_multipart():
            return found
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if isinstance(name, str) and name:  # (an RFC 2231 name comes as a tuple: not a field we read)
                payload = part.get_payload(decode=True)
                found[name] = (part.get_filename() or "", payload if isinstance(payload, bytes) else b"")
        return found


@dataclass
class SandboxResponse:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json; encoding=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


class Drop:
    """The type of ``DROP``."""

    def __repr__(self) -> str:
        return "DROP"


#: Returned by a handler to close the connection without answering (network fault).
DROP = Drop()


def json_response(data: object, *, status: int = 200, content_type: str | None = None) -> SandboxResponse:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    response = SandboxResponse(status=status, body=body)
    if content_type:
        response.content_type = content_type
    return response


Handler = Callable[..., object]

#: What a WeChat API handler answers: a response, DROP, or a JSON object (sent with status 200).
Answer: TypeAlias = "SandboxResponse | Drop | dict[str, Any]"


class DuplicateRoute(ValueError):
    """Two handlers for one (method, path): the second would silently replace the first
    (as two modules each answering ``user/tag/get`` once did), so registration refuses it."""


def _handler_name(handler: Handler) -> str:
    return f"{getattr(handler, '__module__', '?')}.{getattr(handler, '__qualname__', repr(handler))}"


class RouteTable:
    """Method + path → handler; ``<name>`` path segments become keyword arguments.

    One handler per (method, path): adding a second raises ``DuplicateRoute`` naming both
    (at import time for ``@route`` / ``api_route``), unless ``replace=True`` says the
    replacement is meant (a test's own endpoint standing in for WeChat's)."""

    def __init__(self) -> None:
        self._exact: dict[tuple[str, str], Handler] = {}
        self._patterns: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(
        self, methods: str | tuple[str, ...], pattern: str, handler: Handler, *, replace: bool = False
    ) -> None:
        for method in (methods,) if isinstance(methods, str) else methods:
            if "<" in pattern:
                regex = re.compile("^" + re.sub(r"<(\w+)>", r"(?P<\1>[^/]+)", pattern) + "$")
                same = [p for p in self._patterns if p[0] == method and p[1].pattern == regex.pattern]
                if same and not replace:
                    self._refuse(method, pattern, same[0][2], handler)
                self._patterns = [p for p in self._patterns if p not in same]
                self._patterns.append((method, regex, handler))
            else:
                existing = self._exact.get((method, pattern))
                if existing is not None and not replace:
                    self._refuse(method, pattern, existing, handler)
                self._exact[(method, pattern)] = handler

    @staticmethod
    def _refuse(method: str, pattern: str, existing: Handler, handler: Handler) -> None:
        raise DuplicateRoute(
            f"{method} {pattern} already has a handler, {_handler_name(existing)}; "
            f"{_handler_name(handler)} would replace it. One area owns each endpoint "
            "(pass replace=True only for a deliberate stand-in)."
        )

    def match(self, method: str, path: str) -> tuple[Handler | None, dict[str, str]]:
        handler = self._exact.get((method, path))
        if handler is not None:
            return handler, {}
        for route_method, regex, candidate in self._patterns:
            if route_method == method:
                found = regex.match(path)
                if found:
                    return candidate, found.groupdict()
        return None, {}

    def copy(self) -> RouteTable:
        table = RouteTable()
        table._exact = dict(self._exact)
        table._patterns = list(self._patterns)
        return table


#: The table every Sandbox starts from; modules extend it with @route at import time.
ROUTES = RouteTable()


def route(methods: str | tuple[str, ...], pattern: str) -> Callable[[Handler], Handler]:
    """Decorator registering a handler ``(sandbox, request, **params)`` in the shared table."""

    def decorator(handler: Handler) -> Handler:
        ROUTES.add(methods, pattern, handler)
        return handler

    return decorator


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive for pooled clients
    disable_nagle_algorithm = True
    server_version = "wechat-sandbox"
    timeout = 75  # idle keep-alive connections are closed after this

    def do_GET(self) -> None:  # http.server's naming
        self._dispatch()

    do_POST = do_GET

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    def _dispatch(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        body = self.rfile.read(length) if length > 0 else b""
        path, _, query_string = self.path.partition("?")
        query = {k: v[0] for k, v in parse_qs(query_string, keep_blank_values=True).items()}
        request = SandboxRequest(
            method=self.command,
            path=path,
            query=query,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            client_ip=self.client_address[0],
        )
        response = cast(SandboxHTTPServer, self.server).sandbox.handle(request)
        if isinstance(response, Drop):
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        reason = (
            HTTPStatus(response.status).phrase if response.status in HTTPStatus._value2member_map_ else ""
        )
        head = [
            f"HTTP/1.1 {response.status} {reason}",
            f"Content-Type: {response.content_type}",
            f"Content-Length: {len(response.body)}",
            f"Server: {self.server_version}",
        ]
        head += [f"{k}: {v}" for k, v in response.headers.items()]
        if self.close_connection:
            head.append("Connection: close")
        payload = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + response.body
        try:
            self.wfile.write(payload)
        except OSError:
            self.close_connection = True


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        super().__init__(address, _RequestHandler)


def serve_in_thread(server: SandboxHTTPServer) -> threading.Thread:
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="wechat-sandbox", daemon=True
    )
    thread.start()
    return thread
