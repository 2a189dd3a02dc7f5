"""Real faults for the fault tests and `bench/faults.py`: no mocks, real sockets and processes.

- `BlackHole`: a TCP listener that accepts connections and never answers (a hung Redis
  or PostgreSQL: the kernel completes the handshake, nothing ever replies).
- `TcpProxy`: forwards a local port to a real service and can be switched, while
  clients are connected, to `refuse` (connections reset: the service is down) or
  `hang` (bytes stop flowing: the service is hung) and back to `forward`.
- `CeleryWorker`: a real `celery worker` subprocess on the test settings, which can be
  killed with SIGKILL mid-task.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FORWARD, REFUSE, HANG = "forward", "refuse", "hang"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL for another process to open the same database (the test database)."""
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    user = settings_dict.get("USER") or "postgres"
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{host}:{port}/{settings_dict['NAME']}"


def _listen(port: int) -> tuple[socket.socket, int]:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(512)
    return sock, sock.getsockname()[1]


class BlackHole:
    """Accepts TCP connections on 127.0.0.1 and never sends a byte back."""

    def __init__(self, port: int = 0):
        self._sock, self.port = _listen(port)
        self._held: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _addr = self._sock.accept()
            except OSError:
                return
            self._held.append(conn)  # held open, never read, never answered

    def close(self) -> None:
        self._closed = True
        self._sock.close()
        for conn in self._held:
            conn.close()

    def __enter__(self) -> BlackHole:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class TcpProxy:
    """127.0.0.1:port → target, switchable between forward, refuse and hang."""

    def __init__(self, target_host: str, target_port: int, port: int = 0):
        self.target = (target_host, target_port)
        self.mode = FORWARD
        self._sock, self.port = _listen(port)
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def set_mode(self, mode: str) -> None:
        """`refuse` also resets the connections already open (the service went away)."""
        self.mode = mode
        if mode == REFUSE:
            with self._lock:
                pairs, self._pairs = self._pairs, []
            for pair in pairs:
                for conn in pair:
                    _close(conn)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _addr = self._sock.accept()
            except OSError:
                return
            if self.mode == REFUSE:
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._pairs.append((client, upstream))
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                while self.mode == HANG:  # hold the bytes: the other side waits forever
                    time.sleep(0.05)
                sink.sendall(data)
        except OSError:
            pass
        _close(source)
        _close(sink)

    def close(self) -> None:
        self._closed = True
        self._sock.close()
        self.set_mode(REFUSE)

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _close(conn: socket.socket) -> None:
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    conn.close()


class CeleryWorker:
    """`celery -A wxadmin worker` (thread pool) in a process group of its own.

    Its output goes to `log_path` (which `wait_ready` reads), or with none to this
    process's own output (then wait for it otherwise, e.g. `app.control.ping`)."""

    def __init__(
        self,
        env: dict,
        *,
        name: str,
        log_path: Path | None,
        concurrency: int = 2,
        loglevel: str = "INFO",
        extra_args: Sequence[str] = (),
    ):
        self.name = name
        self.log_path = log_path
        self._log = None if log_path is None else open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        command = [
            str(ROOT / ".venv/bin/celery"),
            "-A",
            "wxadmin",
            "worker",
            "--pool",
            "threads",
            "--concurrency",
            str(concurrency),
            "--loglevel",
            loglevel,
            "--without-gossip",
            "--without-mingle",
            *extra_args,
            "-n",
            f"{name}@%h",
        ]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "wxadmin.settings.test", **env},
            stdout=self._log,
            stderr=None if self._log is None else subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60) -> CeleryWorker:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited: {self.log()[-2000:]}")
            if " ready." in self.log():
                return self
            time.sleep(0.2)
        raise RuntimeError(f"worker {self.name} did not start: {self.log()[-2000:]}")

    def log(self) -> str:
        return "" if self.log_path is None else self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no acknowledgement, like a host losing power."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        if self._log is not None:
            self._log.close()


def point_broker_at(url: str) -> str:
    """Point this process's Celery producer at another broker (a refused port, a
    `BlackHole`); returns the previous URL, to be passed back to restore it."""
    from celery import current_app
    from kombu import pools

    app: Any = current_app  # the project's app (wxadmin.celery); core is a leaf, it does not import it
    previous = app.conf.broker_url
    app.conf.broker_url = url
    pools.reset()  # drop pooled connections to the previous broker
    app._pool = None
    app.amqp._producer_pool = None
    return previous
