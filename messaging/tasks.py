"""Celery tasks of the message log: thin wrappers calling one function each.

Celery's autodiscovery imports `<app>.tasks` only: the tasks of the customer-service team
(`kf/tasks.py`) and of the conversation workspace (`conversations/tasks.py`) reach the worker
through the imports below.
"""

from __future__ import annotations

from celery import shared_task

from .conversations import tasks as conversation_tasks  # noqa: F401  (registers their tasks)
from .kf import tasks as kf_tasks  # noqa: F401  (registers its task)
from .retention import messages_prune


@shared_task(name="messaging.prune_messages")
def prune_messages(
    batch_size: int = 1000, pause_seconds: float = 0.0, max_seconds: float | None = None
) -> int:
    """Beat: drop the log's months older than MESSAGE_RETENTION_DAYS (PostgreSQL), delete
    old rows in bounded batches (SQLite, the default partition); messaging/retention.py.

    Never runs past three quarters of the soft time limit, whatever the schedule's kwargs
    say (an older install's row may have none): the rows of finished batches stay
    deleted, and the next run goes on."""
    from django.conf import settings

    budget = settings.CELERY_TASK_SOFT_TIME_LIMIT * 0.75
    max_seconds = budget if max_seconds is None else min(max_seconds, budget)
    return messages_prune(batch_size=batch_size, pause_seconds=pause_seconds, max_seconds=max_seconds)


@shared_task(name="messaging.partitions_ensure_ahead")
def partitions_ensure_ahead(months: int = 3) -> list[str]:
    """Beat: create the message log's monthly partitions up to `months` ahead (PostgreSQL;
    see messaging/partitions.py). Returns the names created."""
    from .partitions import ensure_ahead

    return ensure_ahead(months)


@shared_task(name="messaging.refresh_daily_counts")
def refresh_daily_counts() -> int:
    """Beat: recount the recent days of the log into the dashboard's daily counts."""
    from .daily_counts import message_counts_refresh

    return message_counts_refresh()


@shared_task(name="messaging.flush_message_log")
def flush_message_log() -> int:
    """Beat: write queued message-log rows the web processes' flushers have not written
    (none running, or one died with rows pending); see messaging/log_queue.py."""
    from . import log_queue

    return log_queue.flush()
