"""The Celery result backend: django-celery-results' database backend, made to survive a
database connection that broke while a task ran (issue 23).

Found by `bench/faults.py` ("PostgreSQL dropped around replies", thread pool): a task whose
connection was reset (PostgreSQL restarted, a proxy or a network blip) ran its body — which
retries database errors itself — and then the *result* store met the dead connection and
raised outside the task body. Celery then never acknowledged the message, and once every pool
slot held such a message the worker took no more work until restarted (12 of 20 replies stuck).

Here a database error while storing a result closes this thread's broken connections (the
next query reconnects) and is retried with Celery's backoff
(`CELERY_RESULT_BACKEND_MAX_RETRIES`); if the database is still away the result is dropped
with an error in the log — the work's own rows (a reply, a version, an operation) say what
happened, a task result is a convenience — and the task ends normally.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from celery.exceptions import BackendStoreError
from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django_celery_results.backends.database import DatabaseBackend as StockDatabaseBackend

logger = logging.getLogger(__name__)

DATABASE_ERRORS = (OperationalError, InterfaceError)


class DatabaseBackend(StockDatabaseBackend):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.always_retry = True  # for the database errors below only (exception_safe_to_retry)

    def exception_safe_to_retry(self, exc: BaseException) -> bool:
        return isinstance(exc, DATABASE_ERRORS)

    def on_backend_retryable_error(self, exc: BaseException) -> None:
        """Drop this thread's broken connections: the retry opens a fresh one."""
        for conn in connections.all(initialized_only=True):
            with contextlib.suppress(DatabaseError):
                conn.close()

    def store_result(self, task_id: str, result: Any, state: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().store_result(task_id, result, state, *args, **kwargs)
        except (BackendStoreError, *DATABASE_ERRORS) as exc:
            logger.error(
                "task %s: its result (%s) was not stored, the database did not answer (%s); "
                "the task's own rows record what it did",
                task_id,
                state,
                exc,
            )
            self.on_backend_retryable_error(exc)
            return result
