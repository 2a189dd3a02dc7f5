"""The callback's guard around PostgreSQL: a deadline per push, then a pause (issue 10).

A push normally needs no query (account and rules are cached, the log row goes to Redis).
The few that do — an account this process has not loaded yet, rules whose version
changed, a row written in the request while Redis is away — must not hold WeChat's 5 s
up when PostgreSQL hangs. So all database work of a push runs under a client-side
deadline (`core.timeouts.database_deadline`, WECHAT_CALLBACK_DATABASE_TIMEOUT), and
after a failure the callback leaves the database alone for DATABASE_BREAK_SECONDS: the
cached account and stale rules serve, rows wait in Redis, and a push that cannot do
without the database (an account never loaded) is answered 503 at once. Then one push
tries again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.conf import settings
from django.db import DatabaseError

from core.timeouts import database_deadline

from .pauses import Pause

#: after a database failure on the callback path, the callback leaves the database alone this long
DATABASE_BREAK_SECONDS = 5.0

_pause = Pause("the database", DATABASE_BREAK_SECONDS, "the callback leaves it alone")


class DatabaseUnavailable(DatabaseError):
    """The callback is leaving the database alone for now (a recent failure)."""


def database_available() -> bool:
    return not _pause.active()


def require_database() -> None:
    """Raise DatabaseUnavailable while the callback is leaving the database alone."""
    if not database_available():
        raise DatabaseUnavailable("the callback is leaving the database alone")


def database_failed(exc: BaseException | None = None) -> None:
    """Start the pause; our own DatabaseUnavailable is no new failure and changes nothing."""
    if isinstance(exc, DatabaseUnavailable):
        return
    _pause.failed(type(exc).__name__ if exc is not None else "deadline")


def forget_database_failures() -> None:
    _pause.forget()


@contextlib.contextmanager
def push_deadline() -> Iterator[None]:
    """Bound the database work of one push; a missed deadline pauses the database."""
    with database_deadline(settings.WECHAT_CALLBACK_DATABASE_TIMEOUT) as watch:
        try:
            yield
        finally:
            if watch.aborted and database_available():
                database_failed()
