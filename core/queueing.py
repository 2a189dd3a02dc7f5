"""The one way work is handed to the task queue (issue 23, point 4).

Every place that queues a Celery task goes through here, never `.delay()` or
`.apply_async()` itself (`core/tests/test_queueing.py` scans the code for call sites):

1. the caller writes the row that describes the work (a reply, a menu version …) first;
2. `enqueue_on_commit` hands the task to the broker after that row is committed (a task
   never runs before its row exists, and a rolled-back row queues nothing);
3. when the broker is down or hung (short broker timeouts in the settings) the failure is
   caught, logged and kept on the returned `Queued` ticket: the caller says so in words
   (`QueueUnavailable`, answered 503 with `QUEUE_DOWN_MESSAGE`), and the row stays as
   written so the app's sweeper (a beat task) queues it again when Redis is back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from .domain_errors import DomainError

logger = logging.getLogger(__name__)

#: what staff read when the queue cannot be reached (zh_Hans: "无法连接任务队列（Redis）…")
QUEUE_DOWN_MESSAGE = _(
    "The task queue (Redis) could not be reached. What you asked for is saved and is "
    "carried out automatically once Redis and the Celery workers are running again."
)


class QueueUnavailable(DomainError):
    """The broker refused or did not answer; the row was kept and a sweeper queues it again."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or str(QUEUE_DOWN_MESSAGE))


def _broker_errors() -> tuple[type[BaseException], ...]:
    from kombu.exceptions import KombuError
    from redis.exceptions import RedisError

    return (KombuError, RedisError, OSError)


class Queued:
    """The fate of one enqueue: `sent` is None until tried, then True or False."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: bool | None = None
        self.error = ""

    @property
    def failed(self) -> bool:
        return self.sent is False

    def raise_if_failed(self, message: str | None = None) -> None:
        """After the commit: raise `QueueUnavailable` if the task did not reach the broker."""
        if self.failed:
            raise QueueUnavailable(message)


def enqueue_now(task: Any, *args: Any, countdown: float | None = None, **kwargs: Any) -> Queued:
    """Hand `task(*args, **kwargs)` to the broker now; never raises for a broker fault.

    For beat tasks and sweepers (already outside any transaction); request code uses
    `enqueue_on_commit`."""
    ticket = Queued(getattr(task, "name", repr(task)))
    _send(ticket, task, args, kwargs, countdown)
    return ticket


def enqueue_on_commit(
    task: Any,
    *args: Any,
    countdown: float | None = None,
    on_failure: Callable[[Queued], None] | None = None,
    **kwargs: Any,
) -> Queued:
    """Queue `task(*args, **kwargs)` once the current transaction commits (at once
    outside one). `on_failure(ticket)` runs when the broker could not be reached."""
    ticket = Queued(getattr(task, "name", repr(task)))

    def send() -> None:
        _send(ticket, task, args, kwargs, countdown)
        if ticket.failed and on_failure is not None:
            on_failure(ticket)

    transaction.on_commit(send)
    return ticket


def _send(
    ticket: Queued, task: Any, args: tuple[Any, ...], kwargs: dict[str, Any], countdown: float | None
) -> None:
    try:
        task.apply_async(args, kwargs, countdown=countdown)
    except _broker_errors() as exc:
        ticket.sent, ticket.error = False, f"{type(exc).__name__}: {exc}"
        logger.error("could not queue %s%r: %s (a sweeper queues it again)", ticket.name, args, exc)
        return
    ticket.sent = True
