"""How our Celery tasks retry a temporary error: the countdown and the give-up step.

Not Celery's `autoretry_for`/`retry_backoff`: every task here must record the failure on
its row after the last try (a version, a KF operation, a reply never stays pending),
which autoretry cannot do (it ends the task by raising), and Celery's full jitter may
retry at once or wait up to `retry_backoff_max` in whole seconds, outside the bounds below.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import InterfaceError, OperationalError

if TYPE_CHECKING:
    from celery import Task

    from wechat.errors import WeChatError

#: A database error (PostgreSQL restarting, unreachable) is retried like a temporary
#: WeChat error, never acknowledged and dropped.
DATABASE_ERRORS = (OperationalError, InterfaceError)


def backoff_seconds(retries: int, *, base: float = 2.0) -> float:
    """base, 2×base, 4×base … seconds with ±20 % jitter, capped so that a task waiting
    for its countdown is never handed to a second worker: with Redis a message waiting
    for its countdown sits unacknowledged, so the countdown stays below
    TASK_RETRY_MAX_COUNTDOWN (the visibility timeout minus the task time limit)."""
    cap: float = settings.TASK_RETRY_MAX_COUNTDOWN / 1.2
    return min(base * (2.0**retries), cap) * random.uniform(0.8, 1.2)


def retry_or_give_up(
    task: Task[Any, Any], exc: WeChatError, give_up: Callable[[str], None], *, max_retries: int | None = None
) -> str:
    """A temporary WeChat error in a task whose tries Celery counts (`max_retries`, or
    the task's own): retry with backoff, or after the last try let the service record
    the failure (`give_up(reason)`, the reason being "errcode errmsg") and return "failed"."""
    limit = task.max_retries if max_retries is None else max_retries
    if limit is not None and task.request.retries >= limit:
        give_up(f"{exc.errcode} {exc.errmsg}")
        return "failed"
    raise task.retry(exc=exc, countdown=backoff_seconds(task.request.retries))
