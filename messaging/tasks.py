"""Celery tasks for messaging: thin wrappers taking ids and calling one service each."""

from __future__ import annotations

from celery import shared_task

from core.task_retry import retry_or_give_up

from . import services

KF_MAX_RETRIES = 5


@shared_task(bind=True, name="messaging.kf_operation_run", acks_late=True, max_retries=KF_MAX_RETRIES)
def kf_operation_run(self, operation_id: int) -> str:
    """Run one KF account operation (add/update/delete/avatar/sync) against the API.

    Only temporary WeChat errors (network, busy) are retried; after the last retry
    the operation is recorded as failed. Business errors are recorded by the service.
    """
    from wechat.errors import WeChatError

    try:
        operation = services.kf_operation_execute(operation_id=operation_id)
    except WeChatError as exc:
        if not exc.temporary:  # pragma: no cover - the service records these itself
            raise
        return retry_or_give_up(
            self, exc, lambda reason: services.kf_operation_give_up(operation_id=operation_id, error=reason)
        )
    return operation.status


@shared_task(name="messaging.prune_messages")
def prune_messages(
    batch_size: int = 1000, pause_seconds: float = 0.0, max_seconds: float | None = None
) -> int:
    """Beat: delete log rows older than MESSAGE_RETENTION_DAYS, in bounded batches.

    Never runs past three quarters of the soft time limit, whatever the schedule's kwargs
    say (an older install's row may have none): the rows of finished batches stay
    deleted, and the next run goes on."""
    from django.conf import settings

    budget = settings.CELERY_TASK_SOFT_TIME_LIMIT * 0.75
    max_seconds = budget if max_seconds is None else min(max_seconds, budget)
    return services.messages_prune(
        batch_size=batch_size, pause_seconds=pause_seconds, max_seconds=max_seconds
    )


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


# The conversation workspace's task, registered with the worker through this module.
from .tasks_conversations import outbound_deliver_task, outbound_fail_stuck  # noqa: E402, F401
