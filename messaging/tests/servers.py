"""A real gunicorn serving the callback in another process, reaching PostgreSQL and Redis
through TCP proxies that a test can turn into black holes (issue 10 fault tests)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection

from core.testing.faults import FORWARD, HANG, TcpProxy, free_port

ROOT = Path(__file__).resolve().parents[2]


class BlackHoleProxy(TcpProxy):
    """A `TcpProxy` to a target; while `hang()`ed it accepts and holds everything, answers nothing.

    A hung server looks exactly like this to a client: connections are accepted (by the
    kernel), requests are sent, and no byte ever comes back.
    """

    def hang(self) -> None:
        self.set_mode(HANG)

    def resume(self) -> None:
        self.set_mode(FORWARD)


class CallbackServer:
    """gunicorn (1 worker × 8 threads, test settings) on the test database and Redis,
    both reached through a BlackHoleProxy."""

    def __init__(self, *, flusher_thread: bool = True, threads: int = 8, **extra_env: str) -> None:
        db = connection.settings_dict
        redis_url = urlsplit(settings.REDIS_URL)
        self.postgres = BlackHoleProxy(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432))
        self.redis = BlackHoleProxy(redis_url.hostname, redis_url.port or 6379)
        password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
        database_url = f"postgres://{db['USER']}{password}@127.0.0.1:{self.postgres.port}/{db['NAME']}"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "wxadmin.settings.test",
            "DATABASE_URL": database_url,
            "CONN_MAX_AGE": "60",
            "TEST_REDIS_URL": f"redis://127.0.0.1:{self.redis.port}{redis_url.path}",
            "MESSAGE_LOG_FLUSHER_THREAD": "true" if flusher_thread else "false",
            "DATABASE_CONNECT_TIMEOUT": "2",
            "LOG_LEVEL": "WARNING",
            **extra_env,
        }
        self.process = subprocess.Popen(
            [
                str(ROOT / ".venv/bin/gunicorn"),
                "wxadmin.wsgi:application",
                "-w",
                "1",
                "--threads",
                str(threads),
                "-b",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
                "--timeout",
                "60",
            ],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5),
            ):
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("gunicorn did not start")

    def kill(self) -> None:
        """SIGKILL the server and its worker: no clean-up of any kind runs."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> str:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            _out, errors = self.process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()
            errors = ""
        self.postgres.close()
        self.redis.close()
        return errors or ""
