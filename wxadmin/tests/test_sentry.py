"""Optional Sentry: events leave scrubbed like the error reports (a local server plays Sentry)."""

import gzip
import os
import secrets
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import sentry_sdk

from core.scrubbing import sentry_init
from core.secrecy import Secret


@pytest.fixture
def fake_sentry():
    """A loopback HTTP server that keeps the envelopes it receives."""
    received: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            encoding = self.headers.get("Content-Encoding")
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "br":  # sentry-sdk compresses with Brotli when it is installed
                import brotli

                body = brotli.decompress(body)
            received.append(body)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://publickey@127.0.0.1:{server.server_address[1]}/1", received
    server.shutdown()
    server.server_close()


def failing_token_fetch(appid: str, appsecret: str, key: Secret) -> None:
    url = f"https://api.weixin.qq.com/cgi-bin/token?appid={appid}&secret={appsecret}"
    password = "db-password-" + appsecret[:6]  # noqa: F841 (a local variable Sentry captures)
    raise RuntimeError(f"token fetch failed for {url}")


def test_sentry_events_are_scrubbed_like_error_reports(fake_sentry):
    dsn, received = fake_sentry
    # made at run time: the source lines Sentry sends along must not contain them either
    secret, key = secrets.token_hex(16), Secret("AESKEY-" + secrets.token_urlsafe(30))
    sentry_init(dsn=dsn, environment="test")
    try:
        try:
            failing_token_fetch("wx0123456789abcdef", secret, key)
        except RuntimeError as error:
            sentry_sdk.capture_exception(error)
        sentry_sdk.flush(timeout=10)
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.init()  # no DSN: Sentry off again for the rest of the suite

    payload = b"".join(received).decode("utf-8", "replace")
    assert "RuntimeError" in payload and "failing_token_fetch" in payload  # the event arrived
    assert "wx0123456789abcdef" in payload  # AppIDs are not secrets
    for value in (secret, str(key), "db-password-" + secret[:6]):
        assert value not in payload
    assert "[FILTERED]" in payload


def test_production_settings_start_sentry_only_when_sentry_dsn_is_set():
    code = (
        "import django; django.setup(); import sentry_sdk; c = sentry_sdk.get_client(); "
        "print(c.is_active(), getattr(c.options.get('before_send'), '__name__', None) "
        "if c.is_active() else None)"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SENTRY_", "DJANGO_"))}
    base.update(
        {
            "DJANGO_SETTINGS_MODULE": "wxadmin.settings.production",
            "ALLOWED_HOSTS": "x",
            "SECRET_KEY": "k3J9-x0Qv_7mZp2LrT8sWy4BnHc6DfGa1EeUi5OoNjKlMqRsVtXz",
            "FIELD_ENCRYPTION_KEYS": "dGVzdC1rZXktb25lLTMyLWJ5dGVzLWxvbmctLS0tLS0=",
            # production refuses to start without these (issue 9)
            "DATABASE_URL": os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1/x",
            "REDIS_URL": "redis://127.0.0.1:6379/15",
            "EMAIL_URL": "consolemail://",
        }
    )
    root = Path(__file__).resolve().parents[2]
    processes = [  # both at once: each spends its time booting Django
        subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**base, **extra},
        )
        for extra in ({}, {"SENTRY_DSN": "http://key@127.0.0.1:1/1"})
    ]
    try:
        outputs = [process.communicate(timeout=60)[0].split() for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    assert outputs == [["False", "None"], ["True", "sentry_before_send"]]
