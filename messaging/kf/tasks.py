"""Celery task of the customer-service team: thin, taking an id and calling one function."""

from __future__ import annotations

from celery import Task, shared_task

from core.queueing import enqueue_now
from core.task_retry import retry_or_give_up
from messaging.models import KfOperationStatus

from . import operations

KF_MAX_RETRIES = 5


@shared_task(bind=True, name="messaging.kf_operation_run", acks_late=True, max_retries=KF_MAX_RETRIES)
def kf_operation_run(self: Task[[int], str], operation_id: int) -> str:
    """Run one KF account operation (add/update/delete/avatar/sync) against the API.

    Only temporary WeChat errors (network, busy) are retried; after the last retry
    the operation is recorded as failed. Business errors are recorded by the service.
    """
    from wechat.errors import WeChatError

    try:
        operation = operations.kf_operation_execute(operation_id=operation_id)
    except WeChatError as exc:
        if not exc.temporary:  # pragma: no cover - the service records these itself
            raise
        return retry_or_give_up(
            self, exc, lambda reason: operations.kf_operation_give_up(operation_id=operation_id, error=reason)
        )
    if operation.status == KfOperationStatus.PENDING:
        # Another try holds the lease: a duplicate delivery, or the redelivery of a pool
        # child's task killed mid-call (redelivered at once, its try's lease still live).
        # Look again when the lease ends, not after the sweeper's minute.
        enqueue_now(kf_operation_run, operation_id, countdown=operations.lease_left(operation))
        return "waiting"
    return operation.status


@shared_task(name="messaging.kf_operations_sweep")
def kf_operations_sweep() -> int:
    """Every minute: queue again the pending operations whose task was lost (Redis down when
    they were written, or restarted empty); stops at the first broker fault (next minute)."""
    queued = 0
    for operation_id in operations.kf_operations_lost():
        if not enqueue_now(kf_operation_run, operation_id).sent:
            break
        queued += 1
    return queued
