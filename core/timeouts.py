"""Timeouts of the web tier that settings alone cannot express (issue 10).

`limit_web_statements()` — called by `wxadmin/wsgi.py`, so only web processes — makes
every new PostgreSQL connection cancel statements running longer than
WEB_STATEMENT_TIMEOUT_MS: a request never waits on a lock or a runaway query for
longer than that. Celery workers and management commands (migrations, pruning) are not
limited. The connection itself gives up after DATABASE_CONNECT_TIMEOUT (settings).

`database_deadline(seconds)` bounds a block's database work on the client side, for the
server that stops answering altogether (the callback uses it: messaging/db_guard.py).
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NoReturn

from django.conf import settings
from django.db.backends.signals import connection_created

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper


def _set_statement_timeout(sender: object, connection: BaseDatabaseWrapper, **kwargs: object) -> None:
    milliseconds = int(settings.WEB_STATEMENT_TIMEOUT_MS)
    if connection.vendor == "postgresql" and milliseconds > 0:
        # The raw connection: once per connection, not counted as a request's query.
        connection.connection.execute(f"SET statement_timeout = {milliseconds}")


def limit_web_statements() -> None:
    connection_created.connect(_set_statement_timeout, dispatch_uid="wxadmin_web_statement_timeout")


def unlimit_web_statements() -> None:
    connection_created.disconnect(dispatch_uid="wxadmin_web_statement_timeout")


# --- A client-side deadline for database work (fix: callback with PostgreSQL hung) -------------
# statement_timeout is enforced by the server: a server that accepted the connection and
# then stopped answering (hung, frozen, partitioned) never cancels anything, and psycopg
# waits on the socket forever. `database_deadline()` arms a watchdog instead: once the
# time is up it shuts the socket of this thread's connection down, so the blocked read
# returns, the query raises OperationalError at once, and so does every later query of
# the block (the connection is broken, and no new one is opened until the block ends).
# One watchdog thread per process: arming costs a set insert, not a thread start.

#: while a fired deadline waits for its connection to exist (it was connecting), look again
_RECHECK_SECONDS = 0.05


class _Watch:
    __slots__ = ("aborted", "at", "fired", "wrapper")

    def __init__(self, wrapper: BaseDatabaseWrapper, at: float) -> None:
        self.wrapper, self.at, self.fired, self.aborted = wrapper, at, False, False

    def expire(self) -> None:
        """Break the connection (called by the watchdog, under its lock)."""
        if not self.fired:
            self.fired = True
            # No new connection either until the block ends: Django reconnects by itself
            # (e.g. to restore autocommit after a failed rollback), and a connect to a hung
            # server costs the whole connect timeout. (The wrapper is this thread's own.)
            # Patched on this one wrapper (its instance dict) until the block ends.
            self.wrapper.get_new_connection = self._refuse_connection  # type: ignore[method-assign]
        raw = self.wrapper.connection
        if raw is None:
            return  # still connecting (bounded by connect_timeout): look again shortly
        self.aborted = True
        try:
            fd = raw.pgconn.socket
        except Exception:  # noqa: BLE001 - already closed or broken: nothing left to unblock
            return
        # shutdown() of a duplicate acts on the shared socket; closing the duplicate
        # leaves the connection's own descriptor to psycopg.
        with contextlib.suppress(OSError), socket.socket(fileno=os.dup(fd)) as sock:
            sock.shutdown(socket.SHUT_RDWR)

    def _refuse_connection(self, conn_params: dict[str, Any]) -> NoReturn:
        # Each backend's wrapper names its DB-API module `Database`; the stubs leave it out.
        raise self.wrapper.Database.OperationalError("database deadline passed")  # type: ignore[attr-defined]


class _Watchdog(threading.Thread):
    def __init__(self) -> None:
        super().__init__(name="database-deadline", daemon=True)
        self.pid = os.getpid()
        self.condition = threading.Condition()
        self.watches: set[_Watch] = set()
        #: when the loop wakes next by itself; an earlier deadline has to wake it
        self.wake_at = math.inf

    def run(self) -> None:
        with self.condition:
            while True:
                now = time.monotonic()
                wait = None
                for watch in list(self.watches):
                    if watch.aborted:
                        continue
                    if watch.at <= now:
                        watch.expire()
                        if not watch.aborted:
                            wait = _RECHECK_SECONDS
                        continue
                    wait = watch.at - now if wait is None else min(wait, watch.at - now)
                self.wake_at = math.inf if wait is None else now + wait
                self.condition.wait(wait)


_watchdog: _Watchdog | None = None
_watchdog_lock = threading.Lock()


def _running_watchdog() -> _Watchdog:
    global _watchdog
    watchdog = _watchdog
    if watchdog is None or watchdog.pid != os.getpid():  # none yet, or we were forked
        with _watchdog_lock:
            if _watchdog is None or _watchdog.pid != os.getpid():
                _watchdog = _Watchdog()
                _watchdog.start()
            watchdog = _watchdog
    return watchdog


@contextlib.contextmanager
def database_deadline(seconds: float, using: str = "default") -> Iterator[_Watch]:
    """Give the database work of this block at most `seconds` (PostgreSQL only).

    Yields the watch: `watch.aborted` is true when the deadline broke the connection.
    A connection being opened when time runs out is broken as soon as it exists; the
    connect itself is bounded by DATABASE_CONNECT_TIMEOUT.
    """
    from django.db import connections

    wrapper = connections[using]
    if wrapper.vendor != "postgresql" or seconds <= 0:
        yield _Watch(wrapper, 0.0)
        return
    watch = _Watch(wrapper, time.monotonic() + seconds)
    watchdog = _running_watchdog()
    with watchdog.condition:
        watchdog.watches.add(watch)
        if watch.at < watchdog.wake_at:
            watchdog.condition.notify()
    try:
        yield watch
    finally:
        with watchdog.condition:
            watchdog.watches.discard(watch)
        if watch.fired:
            wrapper.__dict__.pop("get_new_connection", None)
        if watch.aborted and not wrapper.in_atomic_block:
            wrapper.close()  # broken: the next query of this thread connects afresh
